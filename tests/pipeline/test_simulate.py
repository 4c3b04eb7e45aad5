"""The closed-loop simulation: orders land after their lead time, runs repeat."""

from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

from pipeline import market
from pipeline.market.config import DEMAND_GAMMA_SHAPE
from pipeline.market.day import expected_demand
from pipeline.market.kpis import totals
from pipeline.market.state import MarketState
from pipeline.settings import Settings
from pipeline.simulate import (
    SimConfig,
    simulate,
    simulation_home,
    true_demand,
    true_distribution,
)

END = "2026-01-20"


@pytest.fixture
def xs(tmp_path) -> Settings:
    s = Settings.load(fusion_home=tmp_path, sim_history_days=30)
    market.generate(s, size="XS", days=30, seed=5, end=END)
    return s


def test_written_back_orders_arrive_after_their_lead_time(xs):
    state = MarketState.load(xs.sim_dir)
    sku, loc = state.products.sku.iat[1], state.locations.location_id.iat[1]
    lead = int(state.products.lead_time_days.iat[1])
    out = xs.out_dir(END)
    out.mkdir(parents=True)
    pd.DataFrame(
        {
            "sku": [sku],
            "location_id": [loc],
            "order_date": ["2026-01-21"],
            "order_qty_units": [500],
        }
    ).to_csv(out / "replenishment_plan.csv", index=False)
    po = state.purchase_orders
    open_before = po[(po.sku_idx == 1) & (po.loc_idx == 1)]
    days = pd.date_range("2026-01-21", periods=lead + 2)
    arrived = []
    for day in days:
        on_hand = MarketState.load(xs.sim_dir).on_hand[1, 1]
        facts = market.step(xs, f"{day:%Y-%m-%d}", "fusionloop")
        received = facts["state"].on_hand[1, 1] - on_hand + facts["sales"][1, 1]
        earlier = open_before[open_before.arrival_date == day].qty.sum()
        arrived.append(int(received - earlier))
    # Placed on the 21st, in stock on the morning ``lead`` days later.
    assert arrived == [0] * lead + [500, 0]


def _no_orders() -> pd.DataFrame:
    empty = np.array([], dtype="int64")
    return pd.DataFrame(
        {
            "sku_idx": empty,
            "loc_idx": empty,
            "qty": empty,
            "arrival_date": pd.to_datetime([]),
        }
    )


def test_perfect_foresight_sees_the_demand_the_market_draws(xs):
    state = MarketState.load(xs.sim_dir)
    foreseen = true_demand(state, END, 2)
    facts = market.step(xs, "2026-01-21", "given", orders=_no_orders())
    day1 = foreseen[foreseen.horizon_day == 1].p50_units.to_numpy()
    assert np.array_equal(day1, facts["demand"].ravel().astype(float))


def test_a_short_simulated_run_repeats_exactly_and_shares_demand(tmp_path):
    def run(home, policy):
        s = Settings.load(fusion_home=home, sim_history_days=40)
        cfg = SimConfig(policy=policy, days=3, size="XS", seed=3)
        result = simulate(s, cfg)
        daily = simulation_home(s, cfg) / "out" / "_simulation" / "kpis_daily.csv"
        return result, pd.read_csv(daily)

    first, daily = run(tmp_path / "a", "baseline")
    again, daily_again = run(tmp_path / "b", "baseline")
    assert first == again
    pd.testing.assert_frame_equal(daily, daily_again)
    perfect, perfect_daily = run(tmp_path / "a", "perfect")
    # Same seed, promotions untouched: the very same demand draws each day.
    assert perfect_daily.demand_units.tolist() == daily.demand_units.tolist()
    assert len(daily) == 3 and first["days"] == 3
    assert perfect["total_cost_eur"] == pytest.approx(
        perfect["holding_cost_eur"]
        + perfect["lost_sales_cost_eur"]
        + perfect["ordering_cost_eur"],
        abs=0.02,  # each total is rounded to the cent on its own
    )


def test_the_oracle_sees_the_distribution_the_market_draws_from(xs):
    state = MarketState.load(xs.sim_dir)
    known = true_distribution(state, END, 14)
    draws = true_demand(state, END, 14)
    assert (known[["sku", "location_id", "horizon_day"]]).equals(
        draws[["sku", "location_id", "horizon_day"]]
    )
    # The mean is the market's expected demand; the draws scatter around it.
    day1 = expected_demand(state, pd.Timestamp(END) + pd.Timedelta(days=1)).ravel()
    assert np.allclose(known[known.horizon_day == 1].mean_units, day1)
    assert draws.p50_units.sum() == pytest.approx(known.mean_units.sum(), rel=0.1)
    # Half the draws at or below the median (ties at whole units: at least).
    assert (draws.p50_units <= known.p50_units).mean() >= 0.5
    # The spread the plan reads, (P90 - P50) / z(0.9), is the draw's true
    # standard deviation, and the draws scatter that much around the mean.
    var = known.mean_units + known.mean_units**2 / DEMAND_GAMMA_SHAPE
    sd = (known.p90_units - known.p50_units) / NormalDist().inv_cdf(0.9)
    assert np.allclose(sd**2, var)
    scatter = ((draws.p50_units - known.mean_units) ** 2).sum() / var.sum()
    assert 0.7 < scatter < 1.4


def test_totals_give_fill_rate_and_turns():
    daily = pd.DataFrame(
        {
            "date": ["2026-02-01", "2026-02-02"],
            "demand_units": [10, 10],
            "sold_units": [10, 5],
            "revenue_eur": [200.0, 100.0],
            "gross_margin_eur": [100.0, 50.0],
            "cogs_eur": [100.0, 50.0],
            "holding_cost_eur": [1.0, 1.0],
            "lost_sales_cost_eur": [0.0, 100.0],
            "ordering_cost_eur": [25.0, 0.0],
            "total_cost_eur": [26.0, 101.0],
            "markdown_spend_eur": [0.0, 0.0],
            "stockout_days": [0, 1],
            "inventory_value_eur": [1000.0, 500.0],
            "order_lines": [1, 0],
        }
    )
    out = totals(daily)
    assert out["fill_rate"] == 0.75
    assert out["total_cost_eur"] == 127.0
    # 150 EUR of goods sold in 2 days = 27,375 a year, over 750 EUR of stock.
    assert out["inventory_turns"] == 36.5


def test_a_short_fusionloop_run_repeats_exactly_also_when_resumed(tmp_path):
    # The whole daily pipeline in the loop (extract, GX, LightGBM, the MILP,
    # promotions, write-back): the same seed gives the very same KPIs, and so
    # does a run stopped after its first day and resumed (day 2 reuses the
    # model day 1 trained, which the resumed run has to find).
    def run(home, days, resume=False):
        s = Settings.load(
            fusion_home=home, sim_history_days=45, train_window_days=30, pii_key="t"
        )
        cfg = SimConfig(policy="fusionloop", days=days, size="XS", seed=3)
        result = simulate(s, cfg, resume=resume)
        daily = simulation_home(s, cfg) / "out" / "_simulation" / "kpis_daily.csv"
        return result, pd.read_csv(daily)

    first, daily = run(tmp_path / "a", days=2)
    stopped, _ = run(tmp_path / "b", days=1)
    again, daily_again = run(tmp_path / "b", days=2, resume=True)
    assert stopped["days"] == 1
    assert first == again
    pd.testing.assert_frame_equal(daily, daily_again)
    assert first["days"] == 2 and first["demand_units"] > 0


@pytest.mark.parametrize("policy", ["baseline", "perfect", "oracle"])
def test_a_resumed_run_gives_the_uninterrupted_runs_figures(tmp_path, policy):
    def run(home, days, resume=False):
        s = Settings.load(fusion_home=home, sim_history_days=40)
        cfg = SimConfig(policy=policy, days=days, size="XS", seed=3)
        result = simulate(s, cfg, resume=resume)
        daily = simulation_home(s, cfg) / "out" / "_simulation" / "kpis_daily.csv"
        return result, pd.read_csv(daily)

    whole, daily = run(tmp_path / "a", days=4)
    run(tmp_path / "b", days=2)
    resumed, daily_resumed = run(tmp_path / "b", days=4, resume=True)
    assert resumed == whole
    pd.testing.assert_frame_equal(daily_resumed, daily)
    # Nothing to resume: a fresh run.
    fresh, _ = run(tmp_path / "c", days=4, resume=True)
    assert fresh == whole


def test_resume_refuses_a_market_whose_state_and_kpis_disagree(tmp_path):
    s = Settings.load(fusion_home=tmp_path, sim_history_days=40)
    cfg = SimConfig(policy="baseline", days=2, size="XS", seed=3)
    simulate(s, cfg)
    # Other decision settings than the run started with.
    with pytest.raises(ValueError, match=r"budget_eur: 60000.0 -> 1.0\)"):
        simulate(s.replace(budget_eur=1.0), cfg, resume=True)
    # The market stepped a day whose KPIs were never written (a stop between).
    home = s.replace(fusion_home=simulation_home(s, cfg))
    market.step(home, "2026-02-03", "given", orders=_no_orders())
    with pytest.raises(ValueError, match="has 2 days .* market stands at 2026-02-03"):
        simulate(
            s, SimConfig(policy="baseline", days=3, size="XS", seed=3), resume=True
        )
    with pytest.raises(ValueError, match="cannot resume: the market .* seed 3"):
        simulate(s.replace(sim_history_days=30), cfg, resume=True)
    with pytest.raises(ValueError, match="already has 2 days, more than the 1"):
        simulate(
            s, SimConfig(policy="baseline", days=1, size="XS", seed=3), resume=True
        )


def test_a_resumed_baseline_ignores_truth_the_market_state_never_reached(tmp_path):
    # A stop inside a market step after the day's truth was written but before
    # its state: the baseline's sales window must end on the state's last day.
    def run(home, days, resume=False):
        s = Settings.load(fusion_home=home, sim_history_days=40)
        return simulate(s, SimConfig("baseline", days, "XS", 3), resume=resume)

    whole = run(tmp_path / "a", days=3)
    run(tmp_path / "b", days=2)
    home = Settings.load(fusion_home=tmp_path / "b", sim_history_days=40)
    truth = simulation_home(home, SimConfig("baseline", 3, "XS", 3)) / "truth"
    day2 = pd.read_parquet(truth / "ds=2026-02-02")
    stray = day2.assign(date=pd.Timestamp("2026-02-03"), sold_units=999)
    (truth / "ds=2026-02-03").mkdir()
    stray.to_parquet(truth / "ds=2026-02-03" / "part-0.parquet")
    assert run(tmp_path / "b", days=3, resume=True) == whole


def test_a_market_state_stopped_mid_save_is_the_last_whole_one(xs, monkeypatch):
    from pipeline import io

    before = MarketState.load(xs.sim_dir)
    state = MarketState.load(xs.sim_dir)
    state.on_hand += 7
    state.last_day += pd.Timedelta(days=1)

    def dies_before_the_last_day_is_written(obj, path):
        raise KeyboardInterrupt("stopped mid-save, every frame written")

    monkeypatch.setattr(io, "write_json", dies_before_the_last_day_is_written)
    with pytest.raises(KeyboardInterrupt):
        state.save(xs.sim_dir)
    after = MarketState.load(xs.sim_dir)
    assert after.last_day == before.last_day
    assert np.array_equal(after.on_hand, before.on_hand)
    assert after.purchase_orders.equals(before.purchase_orders)
