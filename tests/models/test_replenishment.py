from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from models.replenishment import PlanConfig, build_model, make_instance, solve_plan
from models.service import (
    mean_per_p50,
    protected_daily_demand,
    protected_demand,
    service_levels,
)

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
    cfg = PlanConfig(horizon_days=10, tail_cover_days=0)  # the horizon alone
    lines, _ = solve_plan(pos, _forecast(), DS, cfg)
    assert lines.empty


@pytest.mark.parametrize("level,expected", [(0.5, 1.0), (0.9, 3.0)])
def test_protected_demand_follows_the_service_level(level, expected):
    assert protected_demand([1.0], [3.0], level)[0] == pytest.approx(expected)


def test_protected_demand_is_the_quantile_of_cumulative_demand():
    # P50 1 a day with a spread of 1 (P90 = 1 + z0.9): over 4 days the P90 of
    # the sum is 4 + z0.9 x sqrt(4), not 4 daily P90s.
    z90 = 1.2815515655446004
    p50, p90 = np.ones((1, 4)), np.full((1, 4), 1 + z90)
    daily = protected_daily_demand(p50, p90, 0.9)
    assert daily[0, 0] == pytest.approx(1 + z90)
    assert daily.sum() == pytest.approx(4 + 2 * z90)
    assert protected_daily_demand(p50, p90, 0.5).sum() == pytest.approx(4.0)


def test_service_target_is_the_critical_ratio_of_the_costs():
    # A lost sale costs 10 margin + 0.5 x 20 goodwill = 20 EUR; a unit held a
    # 7-day cycle costs 7 x hold. 20 / (20 + 0.7) = 0.966; at 0.5 EUR a day
    # the ratio 0.85 is raised to the 0.9 floor; at 0.001 it is capped at 0.99.
    pos = pd.concat(
        [_position(holding_cost_eur_per_unit_day=h) for h in (0.1, 0.5, 0.001)]
    )
    levels = service_levels(pos, PlanConfig(service_level=0.9, min_shortage_eur=0))
    assert levels == pytest.approx([20 / 20.7, 0.9, 0.99])
    # A 40 EUR shortage floor counts in the ratio: 40 / (40 + 3.5) = 0.92.
    floor = PlanConfig(service_level=0.9, min_shortage_eur=40.0)
    assert service_levels(pos, floor)[1] == pytest.approx(40 / 43.5)
    # Rows keep their own level: more protection where holding is cheaper.
    p50, p90 = np.ones((3, 4)), np.full((3, 4), 2.0)
    daily = protected_daily_demand(p50, p90, levels)
    assert daily[2].sum() > daily[0].sum() > daily[1].sum()


def test_a_plan_stopped_by_its_time_limit_is_feasible_and_gives_its_gap():
    skus = [f"S{i}" for i in range(40)]
    pos = pd.concat([_position(sku=s, case_pack_units=7, moq_units=20) for s in skus])
    cfg = PlanConfig(horizon_days=10, budget_eur=900.0, time_limit_s=0.01)
    lines, report = solve_plan(pos, _forecast(skus=skus), DS, cfg)
    assert report["highs_status"] == "Time limit reached"
    assert report["mip_gap"] is None or report["mip_gap"] > cfg.mip_gap
    assert any("0.01 s time limit" in note for note in report["binding"])
    assert lines.order_cost_eur.sum() <= 900.0 + 1e-6
    assert (lines.order_qty_units % 7 == 0).all()
    assert (lines.order_qty_units >= 20).all()


# Tiny instances solved by hand. Unless a test says otherwise: one SKU at L1,
# unit cost 10 EUR, list price 20 EUR (a lost sale costs 10 margin + 10 goodwill),
# holding 0.01 EUR per unit-day, protected demand = the flat forecast.


def _cfg(**over):
    # The horizon alone: cover past it has tests of its own (at the end).
    base = dict(horizon_days=6, order_cost_eur=0.0, budget_eur=1e6, tail_cover_days=0)
    return PlanConfig(**(base | over))


def test_capacity_splits_what_one_order_would_bring():
    # 10 units a day, lead 1: days 2..6 can be served, 50 units. One order
    # would be cheapest (a 25 EUR order cost), but stock at the end of a day
    # may not pass 20, so the first arrival is at most 30 and a second is needed.
    pos = _position(on_hand_units=0, lead_time_days=1, capacity_units=20)
    lines, report = solve_plan(
        pos, _forecast(units=10.0, horizon=6), DS, _cfg(order_cost_eur=25.0)
    )
    assert sorted(lines.order_qty_units) == [20, 30]
    assert not any("capacity" in note for note in report["binding"])


def test_daily_budget_caps_each_days_orders_and_is_named():
    # 3 units a day at 10 EUR, lead 1; 30 EUR a day buys exactly one day's need.
    pos = _position(on_hand_units=0, lead_time_days=1)
    cfg = _cfg(budget_eur=30.0, budget_period_days=1)
    lines, report = solve_plan(pos, _forecast(units=3.0, horizon=6), DS, cfg)
    per_day = lines.groupby("order_date").order_cost_eur.sum()
    assert (per_day <= 30.0 + 1e-6).all()
    assert lines.order_qty_units.sum() == 15
    assert "budget binding at 30 EUR on 2026-02-01" in report["binding"]


def test_budget_shortfall_is_what_the_service_target_still_needs():
    # 3 a day over 10 days, lead 2: days 3..10 (24 units) can be served, but
    # 50 EUR buys 5 units, so 19 units x 10 EUR = 190 EUR more were needed.
    lines, report = solve_plan(
        _position(on_hand_units=0),
        _forecast(units=3.0),
        DS,
        _cfg(horizon_days=10, budget_eur=50.0),
    )
    assert lines.order_qty_units.sum() == 5
    assert report["binding"] == ["budget short by 190 EUR over the horizon"]
    assert (lines.binding_constraint == report["binding"][0]).all()


def test_moq_is_semi_continuous_nothing_or_at_least_the_moq():
    # 15 units can be served (3 a day, days 2..6). MOQ 10, packs of 1, 25 EUR
    # an order: one order of 15, not a multiple of the MOQ (10 + 10 costs a
    # second order and an order of 5 is below the MOQ).
    pos = _position(on_hand_units=0, lead_time_days=1, moq_units=10)
    cfg = _cfg(order_cost_eur=25.0)
    lines, _ = solve_plan(pos, _forecast(units=3.0, horizon=6), DS, cfg)
    assert lines.order_qty_units.tolist() == [15]
    # Without the order cost, two orders of the MOQ hold less stock
    # (25 unit-days instead of 30), and none may fall below it.
    lines, _ = solve_plan(pos, _forecast(units=3.0, horizon=6), DS, _cfg())
    assert lines.order_qty_units.tolist() == [10, 10]


def test_orders_come_in_whole_case_packs():
    # Same 15 units in packs of 6: 18 units in all, every order whole packs.
    pos = _position(on_hand_units=0, lead_time_days=1, case_pack_units=6)
    lines, _ = solve_plan(pos, _forecast(units=3.0, horizon=6), DS, _cfg())
    assert lines.order_qty_units.sum() == 18
    assert (lines.order_qty_units == 6 * lines.order_cases).all()


def test_orders_arrive_after_the_lead_time_and_no_earlier():
    pos = _position(on_hand_units=0, lead_time_days=3)
    lines, report = solve_plan(
        pos, _forecast(units=3.0, horizon=8), DS, _cfg(horizon_days=8)
    )
    assert ((lines.arrival_date - lines.order_date).dt.days == 3).all()
    assert lines.arrival_date.min() == pd.Timestamp("2026-02-04")
    # Days 4..8 are served, days 1..3 cannot be: 15 units bought.
    assert lines.order_qty_units.sum() == 15
    assert lines.projected_stockout_date.iloc[0] == pd.Timestamp("2026-02-01")


def test_an_infeasible_instance_still_plans_and_names_every_shortfall():
    # 50 on hand in room for 20, and too little budget for the service target:
    # hard constraints would make this infeasible; the plan says by how much.
    pos = _position(on_hand_units=50, capacity_units=20)
    lines, report = solve_plan(
        pos,
        _forecast(units=10.0, horizon=8),
        DS,
        _cfg(horizon_days=8, budget_eur=100.0),
    )
    assert report["status"] == "Optimal"
    assert "capacity of L1 short by 20 units on 2026-02-01" in report["binding"]
    # Days 3..8 need 60 units, 50 on hand cover 30 of them after days 1-2:
    # 30 units short, 10 bought with 100 EUR, 20 x 10 EUR = 200 EUR short.
    assert "budget short by 200 EUR over the horizon" in report["binding"]
    assert lines.order_qty_units.sum() == 10


@pytest.mark.parametrize(
    ("bias", "factor"), [(0.0, 1.0), (-0.2, 1.25), (0.25, 0.8), (-0.9, 2.0), (4.0, 0.5)]
)
def test_forecast_bias_scales_the_plan_by_its_inverse_within_half_to_double(
    bias, factor
):
    assert mean_per_p50(bias) == pytest.approx(factor)


def test_the_plan_takes_p50_over_one_plus_bias_as_the_mean_and_keeps_the_p90():
    """P50 20 % under the actuals on its holdout: expected demand is 1.25 x P50;
    the P90 (calibrated) stays the upper point of the spread."""
    cfg = PlanConfig(horizon_days=10, forecast_bias=-0.2, tail_cover_days=0)
    pos = _position()
    fc = _forecast(units=4.0).assign(p90_units=6.0)
    inst = make_instance(pos, fc, DS, cfg)
    levels = service_levels(inst.pos, cfg)
    expected = protected_daily_demand(
        np.full((1, 10), 5.0), np.full((1, 10), 6.0), levels
    )
    np.testing.assert_allclose(inst.demand, expected)
    # Without a spread the plan protects the mean: an order arrives from day 3
    # on (lead time 2), days 3-10 take 8 x 4 units, 8 x 5 at 1.25 x.
    flat = _forecast(units=4.0)
    plain, _ = solve_plan(pos, flat, DS, replace(cfg, forecast_bias=0.0))
    fixed, _ = solve_plan(pos, flat, DS, cfg)
    assert plain.order_qty_units.sum() == 32
    assert fixed.order_qty_units.sum() == 40


def test_the_models_mean_when_given_is_the_plans_expected_demand():
    """A mean booster's units replace P50 / (1 + bias) (the bias is moot);
    the spread is still P90 - P50."""
    cfg = PlanConfig(horizon_days=10, forecast_bias=-0.2, tail_cover_days=0)
    pos = _position()
    fc = _forecast(units=1.0).assign(mean_units=4.5, p90_units=6.0)
    inst = make_instance(pos, fc, DS, cfg)
    expected = protected_daily_demand(
        np.full((1, 10), 4.5),
        np.full((1, 10), 6.0),
        service_levels(inst.pos, cfg),
        spread_from=np.full((1, 10), 1.0),
    )
    np.testing.assert_allclose(inst.demand, expected)
    # No spread: days 3-10 take 8 x 4.5 units = 36, whatever the P50 says.
    flat = _forecast(units=1.0).assign(mean_units=4.5)
    lines, _ = solve_plan(pos, flat, DS, cfg)
    assert lines.order_qty_units.sum() == 36


def test_a_late_orders_fixed_cost_is_spread_over_what_it_can_still_bring():
    """Past the integer order days the 25 EUR order cost is charged per pack over
    a lot: the economic lot (here sqrt(2 x 3 x 25 / 0.01) = 122 units), but no
    more than the units the order can use before the horizon ends."""
    cfg = PlanConfig(horizon_days=10, integer_order_days=1, tail_cover_days=0)
    inst = make_instance(_position(lead_time_days=2), _forecast(units=3.0), DS, cfg)
    prob, v = build_model(inst, cfg)
    cost = prob.objective
    for x, day, units in zip(
        v["packs"], v["order_day"], v["useful_units"], strict=True
    ):
        if day == 1:  # integer: its cost sits on the binary
            assert cost.get(x, 0.0) == 0.0
            continue
        useful = 3.0 * (10 - (day + 2) + 1)  # demand from its arrival to day 10
        assert units == pytest.approx(useful)
        assert cost[x] == pytest.approx(25.0 / max(useful, 1.0))


def test_a_slow_movers_moq_order_is_not_put_off_to_a_cheap_continuous_day():
    """0.5 units a day, none on hand, MOQ 24 in packs of 12, 2 days' lead: the
    order on day 1 (integer, MOQ, 25 EUR) serves days 3-10, 4 units worth 20
    EUR each. A continuous order on day 2 has no MOQ; charged 25 EUR over the
    24-unit MOQ lot it would bring its 3.5 units for 3.6 EUR and lose one day
    (10 EUR), beating day 1, and tomorrow's plan would put it off again. Over
    the 3.5 units it can usefully bring it costs the whole 25 EUR, and the
    MOQ is ordered today."""
    pos = _position(on_hand_units=0, moq_units=24, case_pack_units=12)
    cfg = PlanConfig(horizon_days=10, integer_order_days=1, tail_cover_days=0)
    inst = make_instance(pos, _forecast(units=0.5), DS, cfg)
    prob, v = build_model(inst, cfg)
    for x, day in zip(v["packs"], v["order_day"], strict=True):
        if day > 1:  # its useful units: demand from arrival (day + 2) to day 10
            useful = 0.5 * (10 - (day + 2) + 1)
            assert prob.objective[x] == pytest.approx(25.0 * 12 / max(useful, 1.0))
    lines, report = solve_plan(pos, _forecast(units=0.5), DS, cfg)
    assert report["status"] == "Optimal"
    assert lines.order_date.tolist() == [pd.Timestamp("2026-02-01")]
    assert lines.order_qty_units.tolist() == [24]


def _slow_mover():
    """0.1 units a day, none on hand, packs of 6, 2 days' lead, 10-day horizon:
    an order on day 1 serves 0.8 units inside the horizon, worth 0.8 x 20 EUR
    (margin 10 + goodwill 10) = 16 EUR, less than its 25 EUR order cost."""
    return _position(on_hand_units=0, case_pack_units=6), _forecast(units=0.1)


def test_without_cover_past_the_horizon_a_slow_mover_is_never_ordered():
    pos, fc = _slow_mover()
    plain = PlanConfig(horizon_days=10, tail_cover_days=0, min_shortage_eur=0)
    lines, report = solve_plan(pos, fc, DS, plain)
    assert report["status"] == "Optimal"
    assert lines.empty


def test_cover_past_the_horizon_orders_the_slow_movers_pack_now():
    """With 14 days' cover past the horizon (1.4 units, under the economic lot
    of sqrt(2 x 0.1 x 25 / 0.01) = 22 less 0.8), each worth 0.5 x 20 - 0.01 x 7
    = 9.93 EUR: 16 + 13.9 EUR beats the 25 EUR order, and only an order on
    day 1 arrives early enough to pay for itself."""
    pos, fc = _slow_mover()
    cfg = PlanConfig(
        horizon_days=10, tail_cover_days=14, tail_value_share=0.5, min_shortage_eur=0
    )
    inst = make_instance(pos, fc, DS, cfg)
    assert inst.tail == pytest.approx([1.4])
    lines, report = solve_plan(pos, fc, DS, cfg)
    assert report["status"] == "Optimal"
    assert lines.order_date.tolist() == [pd.Timestamp("2026-02-01")]
    assert lines.order_qty_units.tolist() == [6]


def test_cover_past_the_horizon_is_the_rest_of_an_economic_lot_at_most():
    """A fast mover's economic lot (sqrt(2 x 30 x 25 / 0.01) = 387 units) less
    what it covers inside the horizon after its lead (30 x 8 = 240) is 147
    units, under 14 days of demand (420); a tiny lot gives no cover at all."""
    cfg = PlanConfig(horizon_days=10, tail_cover_days=14)
    fast = make_instance(_position(), _forecast(units=30.0), DS, cfg)
    assert fast.tail == pytest.approx([np.sqrt(2 * 30 * 25 / 0.01) - 240])
    dear = _position(holding_cost_eur_per_unit_day=5.0)  # lot of 17 < 240 inside
    assert make_instance(dear, _forecast(units=30.0), DS, cfg).tail == [0]
    none = PlanConfig(tail_cover_days=0)
    off = make_instance(_position(), _forecast(units=30.0), DS, none)
    assert off.tail == [0]


def test_the_plan_carries_its_cover_past_the_horizon_and_no_more():
    """Orders bring the horizon's demand plus the cover and not a unit over
    (packs of one): 300 units of demand less 65 on hand, plus 147 past day 10."""
    cfg = PlanConfig(horizon_days=10, tail_cover_days=14, tail_value_share=1.0)
    pos = _position(on_hand_units=65)  # 5 left when the first order arrives
    lines, report = solve_plan(pos, _forecast(units=30.0), DS, cfg)
    assert report["status"] == "Optimal"
    tail = np.sqrt(2 * 30 * 25 / 0.01) - 240
    assert lines.order_qty_units.sum() == np.ceil(30 * 10 - 65 + tail)


def test_a_shortage_floor_keeps_a_cheap_slow_mover_in_stock():
    """A 4 EUR item at 2 EUR cost loses 2 + 2 EUR a unit short; at 0.5 a day,
    an order on day 1 saves 8 days x 0.5 x 4 = 16 EUR, under its 25 EUR order
    cost. At a 10 EUR floor per unit short it saves 40 EUR and is placed."""
    pos = _position(on_hand_units=0, unit_cost_eur=2.0, list_price_eur=4.0)
    fc = _forecast(units=0.5)
    no_tail = dict(horizon_days=10, tail_cover_days=0)
    plain, _ = solve_plan(pos, fc, DS, PlanConfig(**no_tail, min_shortage_eur=0))
    assert plain.empty
    floor = PlanConfig(**no_tail, min_shortage_eur=10.0)
    lines, report = solve_plan(pos, fc, DS, floor)
    assert report["status"] == "Optimal"
    assert lines.order_date.min() == pd.Timestamp("2026-02-01")
    assert lines.order_qty_units.sum() == 4  # days 3-10, nothing more


def test_a_plan_out_of_time_before_its_relaxation_still_orders():
    # 0.001 s does not solve the relaxation the start is rounded from; the
    # start then comes from covering each row's shortfall (within capacity:
    # 40 rows x 49 units of need pass the 1,000 units of L1), not from
    # "order nothing", which would cost 52,682 EUR here.
    skus = [f"S{i}" for i in range(40)]
    pos = pd.concat(
        [
            _position(sku=s, case_pack_units=7, moq_units=20, on_hand_units=0)
            for s in skus
        ]
    )
    cfg = PlanConfig(horizon_days=10, integer_order_days=1)
    _, solved = solve_plan(pos, _forecast(skus=skus), DS, cfg)
    lines, report = solve_plan(
        pos, _forecast(skus=skus), DS, replace(cfg, time_limit_s=0.001)
    )
    assert report["highs_status"] == "Time limit reached"
    assert report["mip_gap"] is None  # no relaxation, so no bound
    assert set(lines.sku) == set(skus)
    assert report["objective_eur"] <= 1.1 * solved["objective_eur"]
    first = lines[lines.order_date == pd.Timestamp("2026-02-01")]
    assert (first.order_qty_units % 7 == 0).all() and (
        first.order_qty_units >= 20
    ).all()
    assert not any("capacity" in note for note in report["binding"])
