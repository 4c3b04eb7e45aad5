"""A feasible starting plan for the MILP, rounded from its LP relaxation.

On one M location (2,000 SKUs, 2,000-19,000 binaries) HiGHS found no
integer plan at all within 60 s: its root node spent the time on cuts. The
plan's constraints are soft, so any order quantities make a feasible plan
once stock, unmet demand and slacks follow from them. Rounding the
relaxation's packs, per SKU x location the cheapest of a few ways
(``best_rounding``, priced by ``row_costs`` as the MILP's objective prices
them), gives HiGHS a good incumbent at once; a solve stopped by its time
limit then returns that plan or a better one, with the gap to the best bound.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pulp

from models.highs import BatchHiGHS


def start_from_relaxation(prob, inst, v: dict, cfg) -> float | None:
    """Set every variable's initial value from the rounded LP relaxation.

    Returns the relaxation's optimal objective (EUR), a lower bound on the
    MILP's, or None when the relaxation was not solved to optimality.
    """
    relaxed, bound = solve_relaxation(prob, v, cfg)
    if bound is None:  # every rounding of nothing orders nothing
        set_start(inst, v, cfg, rule_start(inst, v, cfg))
    else:
        set_start(inst, v, cfg, best_rounding(inst, v, relaxed, cfg))
    return bound


def best_rounding(inst, v: dict, relaxed: np.ndarray, cfg) -> np.ndarray:
    """Packs per order variable: for each SKU x location the cheapest of four
    roundings of the relaxation (nearest, a whole lot today, today's order
    put off a day, one lot today for the horizon), or one rounding for all
    rows where that costs less once capacity and budget slack count (the
    choice per row leaves out the slack the rows share).

    The relaxation spreads the fixed order cost and the MOQ over fractions of
    an order, so it orders a little of many SKUs today; rounded to the
    nearest pack most of those vanish and their shortage makes a poor start
    (one M store, 2026-12-06: 46,363 EUR against an optimum of 28,580, and
    HiGHS spent 13 of its 20 s finding a better plan).
    """
    options = [
        rounded_packs(inst, v, relaxed, cfg),
        _lot_today(inst, v, relaxed, cfg),
        _put_off(v, relaxed, cfg),
    ]
    if cfg.integer_order_days == 1:
        options.append(_lot_today(inst, v, relaxed, cfg, bring_later=True))
    return cheapest(inst, v, cfg, options)


def rule_start(inst, v: dict, cfg) -> np.ndarray:
    """Packs per order variable when there is no relaxation to round (its
    solve ran out of time: a busy machine, a large store): the cheapest of
    ordering nothing and covering each row's shortfall for a review cycle or
    lot for lot (``cover_shortfall``), per row or for all rows."""
    options = [
        np.zeros(len(v["packs"])),
        cover_shortfall(inst, v, cfg, cfg.review_days),
        cover_shortfall(inst, v, cfg, 1),
    ]
    return cheapest(inst, v, cfg, options)


def cheapest(inst, v: dict, cfg, options: list[np.ndarray]) -> np.ndarray:
    """Of the plans ``options`` (packs per order variable), the cheapest
    option per SKU x location row, or one option for every row if that costs
    less once the capacity and budget slack the rows share count."""
    cost = np.stack([row_costs(inst, v, cfg, packs) for packs in options])
    mixed = np.choose(cost.argmin(axis=0)[v["order_row"]], options)
    return min([mixed, *options], key=lambda p: start_objective(inst, v, cfg, p))


def cover_shortfall(inst, v: dict, cfg, days: int) -> np.ndarray:
    """Packs per order variable from a rule that needs no solver: each order
    day in turn, where stock will be short on the order's arrival day, order
    what it will be short of over ``days`` days from then (whole packs, at
    least the MOQ) on integer order days, or of the arrival day alone on
    continuous ones; then cut to the store's capacity (``_within_capacity``).
    One day is lot for lot, the least stock (a full store); a review cycle,
    fewer orders.

    The start when the relaxation did not finish within the time limit:
    rounding nothing orders nothing, and a plan stopped by its limit then
    kept "order nothing".
    """
    from models.replenishment import integer_days

    rows, day = v["order_row"], v["order_day"]
    lead = inst.pos.lead_time_days.to_numpy().astype(int)[rows]
    whole = integer_days(day - 1, cfg)
    span = np.where(whole, max(days, 1), 1)
    pack, moq, upper = v["pack"][rows], _moq_packs(inst, v), _upper(v)
    H = inst.demand.shape[1]
    packs = np.zeros(len(rows))
    for t in np.unique(day):
        k = np.flatnonzero(day == t)
        stock, short = _no_order_path_of(inst, v, packs)
        cum = np.concatenate([np.zeros((len(short), 1)), np.cumsum(short, axis=1)], 1)
        first = t + lead[k]  # arrival day, 1-based (an order variable arrives <= H)
        last = np.minimum(first + span[k] - 1, H)
        need = cum[rows[k], last] - cum[rows[k], first - 1]
        # the tail: cover wanted past the horizon, when the window reaches it
        tail = np.clip(inst.tail - stock[:, -1], 0, None)[rows[k]]
        need = need + np.where(last == H, tail, 0.0)
        short_then = (short[rows[k], first - 1] > 1e-9) | ((last == H) & (tail > 0))
        need = np.where(short_then, need, 0.0) / pack[k]
        need = np.where(whole[k], np.ceil(need - 1e-9), need)
        need = np.where(whole[k] & (need > 0), np.maximum(need, moq[k]), need)
        packs[k] = np.clip(need, 0, upper[k])
        packs[k] = _within_capacity(inst, v, packs, k, whole[k], moq[k])
    return packs


def _within_capacity(inst, v, packs, k, whole, moq, rounds: int = 50) -> np.ndarray:
    """The orders ``packs[k]`` (one order day) cut where the stock they bring
    would pass a store's capacity, or the stock already there without them
    (earlier orders, today's stock) if that is more.

    Worst day first: each order is cut by its share of today's units still in
    stock that day, then whole packs are floored and orders below the MOQ
    dropped, until no day is over (or ``rounds`` cuts). An order used up
    before the day, or arriving after it, is not cut for it.
    """
    from models.replenishment import store_limits

    rows, pack = v["order_row"][k], v["pack"][v["order_row"][k]]
    without = packs.copy()
    without[k] = 0.0
    before, _ = _no_order_path_of(inst, v, without)
    out = packs[k].copy()
    for store, _, limits in store_limits(inst).values():
        mine = np.isin(rows, store)
        if not out[mine].any():
            continue
        limit = np.maximum(limits, before[store].sum(axis=0))
        for _ in range(rounds):
            trial = packs.copy()
            trial[k] = out
            stock, _ = _no_order_path_of(inst, v, trial)
            over = stock[store].sum(0) - limit
            d = int(over.argmax())
            held = np.where(mine, stock[rows, d] - before[rows, d], 0.0)
            if over[d] <= 1e-9 or held.sum() <= 1e-9:
                break
            cut = out - held * min(over[d] / held.sum(), 1.0) / pack
            cut = np.where(whole, np.floor(cut + 1e-9), np.maximum(cut, 0.0))
            out = np.where(mine, np.where(whole & (cut < moq), 0.0, cut), out)
    return out


def _lot_today(inst, v: dict, relaxed: np.ndarray, cfg, bring_later=False):
    """Where the relaxation orders today, a whole order of at least the MOQ,
    its extra units taken off the same SKU's later (continuous) orders; with
    ``bring_later`` the order also brings what those later orders would
    (one order instead of several; only with one integer order day)."""
    from models.replenishment import integer_days

    rows = v["order_row"]
    whole = integer_days(v["order_day"] - 1, cfg)
    moq = _moq_packs(inst, v)
    upper = _upper(v)
    later = np.flatnonzero(~whole)
    later = later[np.lexsort((v["order_day"][later], rows[later]))]
    owner = rows[later]
    today = whole & (relaxed > 1e-6)
    want = relaxed.copy()
    if bring_later:
        later_packs = np.bincount(owner, relaxed[later], minlength=len(inst.pos))
        want[today] += later_packs[rows[today]]
    packs = np.where(whole, 0.0, relaxed)
    lot = np.maximum(np.ceil(want[today] - 1e-6), moq[today])
    packs[today] = np.minimum(lot, upper[today])
    extra = np.zeros(len(inst.pos))
    np.add.at(extra, rows[today], packs[today] - relaxed[today])
    # what is left of the SKU's later orders, running total in day order
    left = pd.Series(relaxed[later]).groupby(owner).cumsum() - extra[owner]
    left = left.clip(lower=0.0)
    packs[later] = left - left.groupby(owner).shift(fill_value=0.0)
    return _within_bounds(v, packs)  # the subtraction leaves float dust


def _put_off(v: dict, relaxed: np.ndarray, cfg) -> np.ndarray:
    """No order today: what the relaxation ordered today goes on the same
    SKU's next (continuous) order day, where there is one."""
    from models.replenishment import integer_days

    rows, day = v["order_row"], v["order_day"]
    whole = integer_days(day - 1, cfg)
    packs = np.where(whole, 0.0, relaxed)
    later = np.flatnonzero(~whole)
    first_later = {}
    for k in later[np.lexsort((-day[later], rows[later]))]:
        first_later[rows[k]] = k  # the last write per row is its earliest day
    for k in np.flatnonzero(whole & (relaxed > 0)):
        if rows[k] in first_later:
            packs[first_later[rows[k]]] += relaxed[k]
    return _within_bounds(v, packs)


def _within_bounds(v: dict, packs: np.ndarray) -> np.ndarray:
    return np.clip(packs, 0, _upper(v))


def _upper(v: dict) -> np.ndarray:
    """Each order variable's upper bound, in packs."""
    return np.array([x.upBound for x in v["packs"]], dtype=float)


def _moq_packs(inst, v: dict) -> np.ndarray:
    """Each order variable's MOQ in whole packs (at least one pack)."""
    rows = v["order_row"]
    return np.ceil(np.maximum(inst.pos.moq_units.to_numpy()[rows], 1) / v["pack"][rows])


def row_costs(inst, v: dict, cfg, packs: np.ndarray) -> np.ndarray:
    """The objective per SKU x location row (EUR) if ``packs`` were the plan:
    holding, lost sales, fixed and per-pack order cost and cover short past
    the horizon; capacity and budget slack, shared by rows, left out."""
    from models.replenishment import linear_order_eur_per_pack
    from models.service import shortage_eur

    pos = inst.pos
    stock, short = _no_order_path_of(inst, v, packs)
    free = v["free"]
    hold = pos.holding_cost_eur_per_unit_day.to_numpy()
    cost = (stock * free).sum(axis=1) * hold
    cost += (short * free).sum(axis=1) * shortage_eur(pos, cfg)
    rows = v["order_row"]
    fixed = np.array([y is not None for y in v["placed"]], dtype=bool) & (packs > 0)
    np.add.at(cost, rows, fixed * cfg.order_cost_eur)
    np.add.at(cost, rows, packs * linear_order_eur_per_pack(pos, v, cfg))
    for i, (_, eur) in v["tail_short"].items():
        cost[i] += eur * max(float(inst.tail[i] - stock[i, -1]), 0.0)
    return cost


def start_objective(inst, v: dict, cfg, packs: np.ndarray) -> float:
    """The MILP's objective (EUR) if ``packs`` were the plan, slacks included."""
    from models.replenishment import (
        BUDGET_SLACK_EUR_PER_EUR,
        CAPACITY_SLACK_EUR_PER_UNIT,
    )

    stock, _ = _no_order_path_of(inst, v, packs)
    capacity, budget = slacks(inst, v, cfg, stock, packs)
    return float(
        row_costs(inst, v, cfg, packs).sum()
        + CAPACITY_SLACK_EUR_PER_UNIT * sum(capacity.values())
        + BUDGET_SLACK_EUR_PER_EUR * sum(budget.values())
    )


def _no_order_path_of(inst, v: dict, packs: np.ndarray):
    from models.replenishment import _no_order_path

    return _no_order_path(inst, _arrivals(inst, v, packs))


def _arrivals(inst, v: dict, packs: np.ndarray) -> np.ndarray:
    """Units arriving per row and day (n, H) from the orders ``packs``."""
    rows, day = v["order_row"], v["order_day"] - 1
    lead = inst.pos.lead_time_days.to_numpy().astype(int)[rows]
    new = np.zeros(inst.demand.shape)
    np.add.at(new, (rows, day + lead), packs * v["pack"][rows])
    return new


def solve_relaxation(prob, v: dict, cfg) -> tuple[np.ndarray, float | None]:
    """(Packs per order variable, objective) of the LP relaxation; zeros and
    None if it was not solved to optimality."""
    integer = [x for x in prob.variables() if x.cat == pulp.LpInteger]
    for x in integer:
        x.cat = pulp.LpContinuous
    try:
        # The same thread count as the MILP: HiGHS' scheduler keeps the first
        # one it was given, and a later solve asking for another fails.
        solver = BatchHiGHS(msg=False, timeLimit=cfg.time_limit_s, threads=cfg.threads)
        prob.solve(solver)
        ok = prob.solverModel.getModelStatus().name == "kOptimal"
    except pulp.PulpSolverError:
        ok = False
    finally:
        for x in integer:
            x.cat = pulp.LpInteger
    if not ok:
        return np.zeros(len(v["packs"])), None
    packs = np.array([x.value() or 0.0 for x in v["packs"]])
    return packs, float(prob.solverModel.getInfo().objective_function_value)


def rounded_packs(inst, v: dict, relaxed: np.ndarray, cfg) -> np.ndarray:
    """Whole packs on integer order days (nearest, then MOQ or nothing),
    the relaxation's own packs on continuous days."""
    from models.replenishment import integer_days

    moq_packs = _moq_packs(inst, v)
    whole = integer_days(v["order_day"] - 1, cfg)
    packs = np.where(whole, np.round(relaxed), relaxed)
    below_moq = whole & (packs > 0) & (packs < moq_packs)
    packs[below_moq] = np.where(
        relaxed[below_moq] >= moq_packs[below_moq] / 2, moq_packs[below_moq], 0
    )
    return _within_bounds(v, packs)


def set_start(inst, v: dict, cfg, packs: np.ndarray) -> None:
    """Initial values of all variables for the orders ``packs``: stock and unmet
    demand follow from them, slacks take up what capacity and budget cannot."""
    stock, short = _no_order_path_of(inst, v, packs)
    free_rows, free_days = np.nonzero(v["free"])
    for name, values in (("stock", stock), ("short", short)):
        cells = v[name][free_rows, free_days]
        for x, value in zip(cells, values[free_rows, free_days], strict=True):
            x.setInitialValue(float(value))
    for x, y, k in zip(v["packs"], v["placed"], packs, strict=True):
        x.setInitialValue(float(k))
        if y is not None:
            y.setInitialValue(1 if k > 0 else 0)
    capacity, budget = slacks(inst, v, cfg, stock, packs)
    for key, excess in capacity.items():
        v["cap_slack"][key].setInitialValue(excess)
    for p, over in budget.items():
        v["budget_slack"][p].setInitialValue(over)
    tail = inst.tail
    for i, (x, _) in v["tail_short"].items():
        x.setInitialValue(max(float(tail[i] - stock[i, -1]), 0.0))


def slacks(inst, v: dict, cfg, stock: np.ndarray, packs: np.ndarray):
    """({(location, day): units}, {budget period: EUR}): how far the plan
    ``packs`` (with its ``stock``) passes capacity and budget."""
    from models.replenishment import budget_periods, store_limits

    pos, capacity = inst.pos, {}
    for loc, (rows, _, limits) in store_limits(inst).items():
        for t in range(stock.shape[1]):
            excess = float(stock[rows, t].sum()) - float(limits[t])
            capacity[(loc, t + 1)] = max(excess, 0.0)
    order_rows = v["order_row"]
    eur = packs * v["pack"][order_rows] * pos.unit_cost_eur.to_numpy()[order_rows]
    period = budget_periods(stock.shape[1], cfg.budget_period_days)[v["order_day"] - 1]
    budget = {
        p: max(float(eur[period == p].sum()) - cfg.budget_eur, 0.0)
        for p in v["budget_slack"]
    }
    return capacity, budget
