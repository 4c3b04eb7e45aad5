"""The plan solved per location equals the whole plan, or says how far it may be."""

import pandas as pd

from models.replenishment import PlanConfig, solve_plan
from models.replenishment_blocks import finish_blocks, first_pass, solve_by_location
from tests.models.test_replenishment import DS, _forecast, _position

KEY = ["location_id", "sku", "order_date"]


def _two_locations(l1: dict, l2: dict) -> pd.DataFrame:
    return pd.concat(
        [_position(location_id="L1", **l1), _position(location_id="L2", **l2)]
    )


def _cfg(**over) -> PlanConfig:
    # The horizon alone, as the hand-solved figures below assume.
    base = dict(horizon_days=6, order_cost_eur=0.0, budget_eur=1e6, tail_cover_days=0)
    return PlanConfig(**(base | over))


def _orders(lines: pd.DataFrame) -> list[tuple]:
    cols = [*KEY, "order_qty_units"]
    return sorted(map(tuple, lines[cols].astype(str).to_numpy()))


def test_per_location_plan_is_the_whole_plan_when_the_budget_is_loose():
    # L1: capacity 20 splits one order into two (20 + 30); L2: the MOQ of 10
    # and a 25 EUR order cost make one order of 15.
    pos = _two_locations(
        dict(on_hand_units=0, lead_time_days=1, capacity_units=20),
        dict(on_hand_units=0, lead_time_days=1, moq_units=10),
    )
    forecast = pd.concat(
        [
            _forecast(units=10.0, locations=("L1",), horizon=6),
            _forecast(units=3.0, locations=("L2",), horizon=6),
        ]
    )
    cfg = _cfg(order_cost_eur=25.0)
    whole, whole_report = solve_plan(pos, forecast, DS, cfg)
    split, report = solve_by_location(pos, forecast, DS, cfg)
    assert _orders(split) == _orders(whole)
    assert sorted(split[split.location_id == "L1"].order_qty_units) == [20, 30]
    assert split[split.location_id == "L2"].order_qty_units.tolist() == [15]
    assert report["objective_eur"] == whole_report["objective_eur"]
    assert set(report["blocks"]) == {"L1", "L2"} and "budget_split" not in report
    assert list(split.columns) == list(whole.columns)


def test_a_budget_binding_across_locations_is_split_and_kept():
    # Each location alone would buy 15 units at 10 EUR (3 a day, days 2..6);
    # together they may spend 150 EUR: 75 EUR each, after their equal spend.
    pos = _two_locations(
        dict(on_hand_units=0, lead_time_days=1), dict(on_hand_units=0, lead_time_days=1)
    )
    forecast = _forecast(units=3.0, locations=("L1", "L2"), horizon=6)
    cfg = _cfg(budget_eur=150.0)
    split, report = solve_by_location(pos, forecast, DS, cfg)
    whole, whole_report = solve_plan(pos, forecast, DS, cfg)
    assert split.order_cost_eur.sum() <= 150.0 + 1e-6
    assert report["budget_split"] == {"L1": 75.0, "L2": 75.0}
    assert report["binding"][0].startswith("budget binds across locations")
    assert split.groupby("location_id").order_qty_units.sum().tolist() == [7, 7]
    # The first pass relaxes the budget: a bound under both plans' costs.
    assert report["bound_eur"] <= whole_report["objective_eur"] + 1e-6
    assert report["bound_eur"] <= report["objective_eur"] + 1e-6
    assert whole.order_qty_units.sum() == 15


def test_integer_orders_on_the_first_day_only_keep_the_first_days_order():
    # The MOQ instance (3 a day, MOQ 10, 25 EUR an order, lead 1): the whole
    # MILP orders 15 on day 1. With later days continuous at an EOQ-spread
    # order cost, day 1 keeps that order, with one binary instead of five.
    pos = _position(on_hand_units=0, lead_time_days=1, moq_units=10)
    forecast = _forecast(units=3.0, horizon=6)
    full, full_report = solve_plan(pos, forecast, DS, _cfg(order_cost_eur=25.0))
    cfg = _cfg(order_cost_eur=25.0, integer_order_days=1)
    first, report = solve_plan(pos, forecast, DS, cfg)
    day1 = first[first.order_date == pd.Timestamp("2026-02-01")]
    assert day1.order_qty_units.tolist() == full.order_qty_units.tolist() == [15]
    assert report["binaries"] == 1 < full_report["binaries"]


def test_without_a_bound_from_highs_the_gap_is_against_the_relaxation():
    from models.replenishment import _bound_from_relaxation

    report = {"objective_eur": 200.0, "mip_gap": None, "bound_eur": None}
    _bound_from_relaxation(report, 150.0)
    assert report["mip_gap"] == 0.25 and report["bound_eur"] == 150.0
    proved = {"objective_eur": 200.0, "mip_gap": 0.01, "bound_eur": 198.0}
    _bound_from_relaxation(proved, 150.0)
    assert proved["mip_gap"] == 0.01 and proved["bound_eur"] == 198.0


def test_lines_after_the_integer_days_say_they_are_indicative():
    # 10 a day from empty stock, at most 20 on the shelf: one order cannot
    # cover the horizon, so a later (continuous) day orders too; ops places
    # only the next day's lines, so the later ones must say they are re-planned.
    pos = _position(on_hand_units=0, lead_time_days=1, capacity_units=20)
    forecast = _forecast(units=10.0, horizon=6)
    cfg = _cfg(order_cost_eur=25.0, integer_order_days=1)
    plan, _ = solve_plan(pos, forecast, DS, cfg)
    first_day = plan.order_date == pd.Timestamp("2026-02-01")
    assert first_day.any() and (~first_day).any()
    assert not plan.reason[first_day].str.contains("indicative").any()
    assert plan.reason[~first_day].str.contains("indicative: re-planned").all()


def test_a_store_with_nothing_to_order_gives_an_empty_plan():
    # Stock covers the horizon: no line at all (the reasons of no lines must
    # not fail; a store block without orders is common on M).
    pos = _position(on_hand_units=500, lead_time_days=1)
    cfg = _cfg(order_cost_eur=25.0, integer_order_days=1)
    plan, report = solve_plan(pos, _forecast(units=3.0, horizon=6), DS, cfg)
    assert plan.empty and "reason" in plan.columns


def test_stores_planned_in_groups_give_the_plan_of_all_at_once():
    # What the DAG's region shards do: the first pass per group of stores,
    # joined; a store of the group without a stock position is left out.
    pos = _two_locations(
        dict(on_hand_units=0, lead_time_days=1, capacity_units=20),
        dict(on_hand_units=2, lead_time_days=2, moq_units=10),
    )
    forecast = _forecast(units=4.0, locations=("L1", "L2"), horizon=6)
    cfg = _cfg(order_cost_eur=25.0, time_limit_s=10.0)
    north = first_pass(pos, forecast, DS, cfg, locations=["L1", "L9"])
    south = first_pass(pos, forecast, DS, cfg, locations=["L2"])
    assert set(north) == {"L1"} and set(south) == {"L2"}
    joined, report = finish_blocks(north | south, pos, forecast, DS, cfg)
    whole, whole_report = solve_by_location(pos, forecast, DS, cfg)
    pd.testing.assert_frame_equal(joined, whole)
    assert len(whole) > 0
    for key in ("objective_eur", "bound_eur", "mip_gap", "binding", "variables"):
        assert report[key] == whole_report[key], key
