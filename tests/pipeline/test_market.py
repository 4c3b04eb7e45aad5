import numpy as np
import pandas as pd

from pipeline import market
from pipeline.market import day, extracts
from pipeline.market.state import MarketState
from pipeline.settings import Settings


def _generate(home, seed=3):
    s = Settings.load(fusion_home=home)
    market.generate(s, size="XS", days=20, seed=seed, end="2026-01-20")
    return s


def test_same_seed_gives_identical_extracts(tmp_path):
    a, b = _generate(tmp_path / "a"), _generate(tmp_path / "b")
    for name in ("orders.csv", "erp_inventory.csv", "erp_products.csv"):
        left = (a.landing / "2026-01-20" / name).read_bytes()
        assert left == (b.landing / "2026-01-20" / name).read_bytes()
    other = _generate(tmp_path / "c", seed=4)
    assert (other.landing / "2026-01-20" / "orders.csv").read_bytes() != (
        a.landing / "2026-01-20" / "orders.csv"
    ).read_bytes()


def test_truth_is_kept_apart_and_sales_never_exceed_stock(tmp_path):
    s = _generate(tmp_path)
    truth = pd.read_parquet(s.truth)
    assert {"expected_units", "sold_units"} <= set(truth.columns)
    assert not list(s.landing.rglob("*truth*"))
    inv = pd.read_csv(s.landing / "2026-01-20" / "erp_inventory.csv")
    assert (inv.on_hand >= 0).all()


def test_step_places_the_plan_orders_and_applies_pauses(tmp_path):
    s = _generate(tmp_path)
    state = MarketState.load(s.sim_dir)
    sku, loc = state.products.sku.iat[0], state.locations.location_id.iat[0]
    out = s.out_dir("2026-01-20")
    out.mkdir(parents=True)
    pd.DataFrame(
        {
            "sku": [sku],
            "location_id": [loc],
            "order_date": ["2026-01-21"],
            "order_qty_units": [500],
        }
    ).to_csv(out / "replenishment_plan.csv", index=False)
    promo = state.promotions.iloc[0]
    from pipeline.writeback import write_back

    adj = pd.DataFrame(
        [
            {
                "adjustment_id": "x",
                "ds": "2026-01-20",
                "action": "pause",
                "promo_id": promo.promo_id,
                "sku": promo.sku,
                "discount_pct": 0.1,
                "target_segment": "all",
                "start_date": "2026-01-21",
                "end_date": "2026-01-30",
                "expected_units": 0.0,
                "margin_effect_eur": 0.0,
                "reason": "test",
            }
        ]
    )
    other = state.promotions.iloc[1]
    shrink = adj.assign(
        adjustment_id="y", action="shrink", promo_id=other.promo_id, discount_pct=0.05
    )
    adj = pd.concat([adj, shrink])
    write_back(s.marketing_url, "2026-01-20", adj, "v")
    market.step(s, "2026-01-21")
    after = MarketState.load(s.sim_dir)
    po = after.purchase_orders
    lead = int(state.products.lead_time_days.iat[0])
    mine = po[(po.sku_idx == 0) & (po.loc_idx == 0) & (po.qty == 500)]
    assert mine.arrival_date.tolist() == [
        pd.Timestamp("2026-01-21") + pd.Timedelta(days=lead)
    ]
    paused = after.promotions.set_index("promo_id").paused_from[promo.promo_id]
    assert paused == pd.Timestamp("2026-01-21")
    assert after.promotions.set_index("promo_id").discount_pct[other.promo_id] == 0.05
    assert (s.landing / "2026-01-21" / "orders.csv").exists()


def test_dirty_rows_are_about_the_configured_rate():
    rng = np.random.default_rng(0)
    orders = pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(2000)],
            "line_no": 1,
            "sku": "S",
            "qty": 1,
            "unit_price": 2.0,
            "status": "completed",
        }
    )
    dirty = extracts.add_dirty_rows(orders, 0.01, rng)
    changed = (dirty.iloc[:2000] != orders.astype(object)).any(axis=1).sum()
    assert len(dirty) - 2000 + changed == 20


def test_demand_draws_are_common_random_numbers():
    # A promotion on one cell changes its expected units only: every other
    # cell draws the very same units, and the promoted cell at least as many.
    lam = np.full((40, 3), 2.0)
    promoted = lam.copy()
    promoted[7, 1] = 20.0
    base = day.draw_demand(lam, np.random.default_rng([3, 738000]))
    lifted = day.draw_demand(promoted, np.random.default_rng([3, 738000]))
    others = np.ones(lam.shape, dtype=bool)
    others[7, 1] = False
    assert np.array_equal(base[others], lifted[others])
    assert lifted[7, 1] > base[7, 1]
    assert day.draw_demand(np.zeros((2, 2)), np.random.default_rng(1)).sum() == 0
