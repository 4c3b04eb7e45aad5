import pandas as pd
import pytest

from models.replenishment import PlanConfig, protected_demand, solve_plan

DS = "2026-01-31"


def _position(**over):
    row = dict(
        sku="A",
        location_id="L1",
        on_hand_units=5,
        on_order_units=0,
        on_order_arrival_date=None,
        unit_cost_eur=10.0,
        list_price_eur=20.0,
        lead_time_days=2,
        moq_units=0,
        case_pack_units=1,
        capacity_units=1000,
        holding_cost_eur_per_unit_day=0.01,
    )
    row.update(over)
    return pd.DataFrame([row])


def _forecast(units=3.0, skus=("A",), locations=("L1",), horizon=10):
    return pd.DataFrame(
        [
            dict(
                sku=s, location_id=loc, horizon_day=h, p50_units=units, p90_units=units
            )
            for s in skus
            for loc in locations
            for h in range(1, horizon + 1)
        ]
    )


def test_orders_before_the_stock_runs_out_in_whole_lots():
    pos = _position(case_pack_units=6, moq_units=10)
    lines, report = solve_plan(pos, _forecast(), DS, PlanConfig(horizon_days=10))
    assert report["status"] == "Optimal"
    assert lines.order_date.min() == pd.Timestamp("2026-02-01")
    assert (lines.order_qty_units % 6 == 0).all() and (
        lines.order_qty_units >= 10
    ).all()
    # 30 units of demand, 5 on hand; orders can arrive from day 3 on.
    assert lines.order_qty_units.sum() >= 30 - 5 - 3 * 3


def test_budget_is_respected_and_reported_as_binding():
    lines, report = solve_plan(
        _position(), _forecast(), DS, PlanConfig(horizon_days=10, budget_eur=50.0)
    )
    assert lines.order_cost_eur.sum() <= 50.0 + 1e-6
    assert any("budget" in b for b in report["binding"])


def test_capacity_shortfall_is_named_with_location_and_day():
    pos = _position(on_hand_units=50, capacity_units=20)
    _, report = solve_plan(pos, _forecast(units=1.0), DS, PlanConfig(horizon_days=5))
    assert "capacity of L1 short by 29 units on 2026-02-01" in report["binding"]


def test_open_purchase_orders_count_as_supply():
    pos = _position(
        on_hand_units=0, on_order_units=40, on_order_arrival_date="2026-02-01"
    )
    lines, _ = solve_plan(pos, _forecast(), DS, PlanConfig(horizon_days=10))
    assert lines.empty


@pytest.mark.parametrize("level,expected", [(0.5, 1.0), (0.9, 3.0)])
def test_protected_demand_follows_the_service_level(level, expected):
    assert protected_demand([1.0], [3.0], level)[0] == pytest.approx(expected)


def test_no_plan_in_time_is_an_error_naming_both_solvers():
    skus = [f"S{i}" for i in range(40)]
    pos = pd.concat([_position(sku=s, case_pack_units=7, moq_units=20) for s in skus])
    cfg = PlanConfig(horizon_days=10, budget_eur=900.0, time_limit_s=0.01)
    with pytest.raises(RuntimeError, match="HiGHS: status .*; CBC: status"):
        solve_plan(pos, _forecast(skus=skus), DS, cfg)
