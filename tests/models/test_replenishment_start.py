"""The MILP's starting plan: rounded from the relaxation, SKU by SKU the cheapest
of a few roundings, priced exactly as the MILP prices it."""

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pulp
import pytest

import models.replenishment_start as start
from models.replenishment import PlanConfig, build_model, make_instance, solve_model

DS = "2026-01-31"


def _market(n=40, seed=3):
    """SKUs at one store with mixed lead times, MOQs, packs and demand."""
    rng = np.random.default_rng(seed)
    position = pd.DataFrame(
        dict(
            sku=[f"S{i:02d}" for i in range(n)],
            location_id="L1",
            on_hand_units=rng.integers(0, 30, n),
            on_order_units=0,
            on_order_arrival_date=None,
            unit_cost_eur=rng.uniform(2, 40, n).round(2),
            list_price_eur=0.0,
            lead_time_days=rng.integers(1, 6, n),
            moq_units=rng.choice([0, 12, 24, 40], n),
            case_pack_units=rng.choice([1, 6, 12], n),
            capacity_units=100_000,
            holding_cost_eur_per_unit_day=rng.uniform(0.005, 0.05, n).round(3),
        )
    )
    position["list_price_eur"] = (position.unit_cost_eur * 1.8).round(2)
    daily = rng.uniform(0.5, 8, n)
    forecast = pd.DataFrame(
        [
            dict(
                sku=f"S{i:02d}",
                location_id="L1",
                horizon_day=h,
                p50_units=daily[i],
                p90_units=daily[i] * 1.4,
            )
            for i in range(n)
            for h in range(1, 15)
        ]
    )
    return position, forecast


@pytest.fixture(scope="module")
def model():
    cfg = PlanConfig(
        horizon_days=14, integer_order_days=1, order_cost_eur=25.0, budget_eur=1e7
    )
    inst = make_instance(*_market(), DS, cfg)
    prob, v = build_model(inst, cfg)
    relaxed, bound = start.solve_relaxation(prob, v, cfg)
    assert bound is not None
    return cfg, inst, prob, v, relaxed


def _options(model):
    cfg, inst, _, v, relaxed = model
    return {
        "nearest": start.rounded_packs(inst, v, relaxed, cfg),
        "lot today": start._lot_today(inst, v, relaxed, cfg),
        "put off": start._put_off(v, relaxed, cfg),
        "lot today, later orders in it": start._lot_today(
            inst, v, relaxed, cfg, bring_later=True
        ),
    }


def test_row_costs_add_up_to_the_milps_objective_at_each_rounding(model):
    cfg, inst, prob, v, _ = model
    for name, packs in _options(model).items():
        start.set_start(inst, v, cfg, packs)
        objective = prob.objective.value()
        assert start.row_costs(inst, v, cfg, packs).sum() == pytest.approx(
            objective, rel=1e-9
        ), name
        assert start.start_objective(inst, v, cfg, packs) == pytest.approx(
            objective, rel=1e-9
        ), name


def test_every_rounding_orders_whole_packs_of_at_least_the_moq_today(model):
    cfg, inst, _, v, _ = model
    rows = v["order_row"]
    today = v["order_day"] == 1
    moq_packs = np.ceil(
        np.maximum(inst.pos.moq_units.to_numpy()[rows], 1) / v["pack"][rows]
    )
    for name, packs in _options(model).items():
        ordered = today & (packs > 0)
        assert np.allclose(packs[today], np.round(packs[today])), name
        assert (packs[ordered] >= moq_packs[ordered]).all(), name
        assert (packs >= 0).all(), name


def test_the_start_is_no_dearer_than_any_rounding_and_near_the_optimum(model):
    cfg, inst, prob, v, relaxed = model
    best = start.best_rounding(inst, v, relaxed, cfg)
    cost = {
        name: start.start_objective(inst, v, cfg, packs)
        for name, packs in _options(model).items()
    }
    chosen = start.start_objective(inst, v, cfg, best)
    assert chosen <= min(cost.values()) + 1e-6
    assert chosen < cost["nearest"]  # the rounding the start used to be

    start.set_start(inst, v, cfg, best)
    assert prob.objective.value() == pytest.approx(chosen, rel=1e-9)
    assert all(c.valid(1e-7) for c in prob.constraints.values())
    status, _ = solve_model(prob, replace(cfg, mip_gap=0.0, time_limit_s=60))
    assert status == "Optimal"
    optimum = pulp.value(prob.objective)
    assert optimum <= chosen + 1e-6
    assert chosen <= 1.05 * optimum, (chosen, optimum, cost)


def test_the_start_keeps_within_every_order_variables_bounds(model):
    """Trimming later orders by today's extra units must not leave float dust
    above a bound: HiGHS' start would be refused (it was, on an M day)."""
    cfg, inst, prob, v, _ = model
    upper = np.array([x.upBound for x in v["packs"]], dtype=float)
    relaxed = np.where(v["order_day"] == 1, 0.1, upper)  # later orders at their cap
    best = start.best_rounding(inst, v, relaxed, cfg)
    assert (best >= 0).all() and (best <= upper).all()
    start.set_start(inst, v, cfg, best)  # raises on a value outside its bounds


@pytest.mark.parametrize("binding", ["budget", "capacity"])
def test_where_slack_binds_the_start_is_no_dearer_than_any_one_rounding(binding):
    over = {"budget": dict(budget_eur=3_000.0), "capacity": {}}[binding]
    cfg = PlanConfig(horizon_days=14, integer_order_days=1, **over)
    position, forecast = _market()
    if binding == "capacity":
        position["capacity_units"] = 600
    inst = make_instance(position, forecast, DS, cfg)
    prob, v = build_model(inst, cfg)
    relaxed, _ = start.solve_relaxation(prob, v, cfg)
    best = start.best_rounding(inst, v, relaxed, cfg)
    chosen = start.start_objective(inst, v, cfg, best)
    options = _options((cfg, inst, prob, v, relaxed))
    assert chosen <= min(
        start.start_objective(inst, v, cfg, p) for p in options.values()
    )
    start.set_start(inst, v, cfg, best)
    assert prob.objective.value() == pytest.approx(chosen, rel=1e-9)
    assert any(  # the slack binds: some rounding pays for passing it
        start.start_objective(inst, v, cfg, p)
        > start.row_costs(inst, v, cfg, p).sum() + 1.0
        for p in options.values()
    )


def _one_sku(days, relaxed, moq=10, upper=50):
    """Order variables of one SKU on ``days`` (in that order), pack 1."""
    v = {
        "packs": np.array(
            [pulp.LpVariable(f"packs_{d}", 0, upper) for d in days], dtype=object
        ),
        "order_row": np.zeros(len(days), dtype=int),
        "order_day": np.array(days),
        "pack": np.array([1.0]),
    }
    inst = SimpleNamespace(pos=pd.DataFrame({"moq_units": [moq]}))
    return inst, v, np.array(relaxed, dtype=float), PlanConfig(integer_order_days=1)


def test_a_lot_today_takes_its_extra_units_off_the_earliest_later_orders():
    inst, v, relaxed, cfg = _one_sku(days=[3, 1, 4, 2], relaxed=[4, 2, 5, 3])
    # today: 2 packs lifted to the MOQ of 10; the 8 extra come off days 2, 3, 4
    assert start._lot_today(inst, v, relaxed, cfg).tolist() == [0, 10, 4, 0]
    # bringing the later orders too: 2 + 4 + 5 + 3 = 14 today, nothing later
    lot = start._lot_today(inst, v, relaxed, cfg, bring_later=True)
    assert lot.tolist() == [0, 14, 0, 0]


def test_a_lot_today_is_capped_by_what_the_order_can_bring():
    inst, v, relaxed, cfg = _one_sku(days=[1, 2], relaxed=[2, 30], upper=12)
    assert start._lot_today(inst, v, relaxed, cfg, bring_later=True).tolist() == [
        12,
        12,
    ]  # today 12 (its cap) of the 32 wanted; day 2 keeps 30 - 10, capped at 12


def test_putting_off_moves_todays_packs_to_the_next_order_day():
    inst, v, relaxed, cfg = _one_sku(days=[3, 1, 4, 2], relaxed=[4, 2, 5, 3])
    assert start._put_off(v, relaxed, cfg).tolist() == [4, 0, 5, 5]


@pytest.mark.parametrize("capacity", [20, 60, 250])
def test_the_rule_start_keeps_a_full_store_within_capacity_and_orders(capacity):
    # Without a relaxation to round, the start is the shortfall rule. SKUs with
    # other lead times fill the store on other days: cutting every order for
    # the worst day, whether or not its units are still there that day, left
    # capacity slack (1,000 EUR a unit) and the start fell back to nothing.
    cfg = PlanConfig(horizon_days=14, integer_order_days=1, budget_eur=1e7)
    position, forecast = _market(n=12, seed=5)
    position = position.assign(on_hand_units=0, capacity_units=capacity)
    inst = make_instance(position, forecast, DS, cfg)
    _, v = build_model(inst, cfg)
    packs = start.rule_start(inst, v, cfg)
    stock, _ = start._no_order_path_of(inst, v, packs)
    capacity_slack, _ = start.slacks(inst, v, cfg, stock, packs)
    assert max(capacity_slack.values()) <= 1e-6
    nothing = start.start_objective(inst, v, cfg, np.zeros(len(packs)))
    assert start.start_objective(inst, v, cfg, packs) < 0.5 * nothing
    # whole packs of at least the MOQ on the integer (first) order day
    first = v["order_day"] == 1
    moq = start._moq_packs(inst, v)
    assert np.all((packs[first] == 0) | (packs[first] >= moq[first]))
    assert np.allclose(packs[first], np.round(packs[first]))
