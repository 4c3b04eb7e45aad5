"""A feasible starting plan for the MILP, rounded from its LP relaxation.

On one M location (2,000 SKUs, 2,000-19,000 binaries) HiGHS found no
integer plan at all within 60 s: its root node spent the time on cuts. The
plan's constraints are soft, so any order quantities make a feasible plan
once stock, unmet demand and slacks follow from them. Rounding the
relaxation's packs (and lifting a rounded order to its MOQ where the
relaxation ordered at least half of it) gives HiGHS a good incumbent at
once; a solve stopped by its time limit then returns that plan or a better
one, with the gap to the best bound.
"""

from __future__ import annotations

import numpy as np
import pulp

from models.highs import BatchHiGHS


def start_from_relaxation(prob, inst, v: dict, cfg) -> float | None:
    """Set every variable's initial value from the rounded LP relaxation.

    Returns the relaxation's optimal objective (EUR), a lower bound on the
    MILP's, or None when the relaxation was not solved to optimality.
    """
    relaxed, bound = solve_relaxation(prob, v, cfg)
    set_start(inst, v, cfg, rounded_packs(inst, v, relaxed, cfg))
    return bound


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

    rows = v["order_row"]
    pack = v["pack"][rows]
    moq_packs = np.ceil(np.maximum(inst.pos.moq_units.to_numpy()[rows], 1) / pack)
    whole = integer_days(v["order_day"] - 1, cfg)
    packs = np.where(whole, np.round(relaxed), relaxed)
    below_moq = whole & (packs > 0) & (packs < moq_packs)
    packs[below_moq] = np.where(
        relaxed[below_moq] >= moq_packs[below_moq] / 2, moq_packs[below_moq], 0
    )
    upper = np.array([x.upBound for x in v["packs"]], dtype=float)
    return np.clip(packs, 0, upper)


def set_start(inst, v: dict, cfg, packs: np.ndarray) -> None:
    """Initial values of all variables for the orders ``packs``: stock and unmet
    demand follow from them, slacks take up what capacity and budget cannot."""
    from models.replenishment import _no_order_path, budget_periods

    n, H = inst.demand.shape
    rows, day = v["order_row"], v["order_day"] - 1
    lead = inst.pos.lead_time_days.to_numpy().astype(int)[rows]
    units = packs * v["pack"][rows]
    new = np.zeros((n, H))
    np.add.at(new, (rows, day + lead), units)
    stock, short = _no_order_path(inst, new)
    free_rows, free_days = np.nonzero(v["free"])
    for name, values in (("stock", stock), ("short", short)):
        cells = v[name][free_rows, free_days]
        for x, value in zip(cells, values[free_rows, free_days], strict=True):
            x.setInitialValue(float(value))
    for x, y, k in zip(v["packs"], v["placed"], packs, strict=True):
        x.setInitialValue(float(k))
        if y is not None:
            y.setInitialValue(1 if k > 0 else 0)
    _start_slacks(inst, v, cfg, stock, units, budget_periods(H, cfg.budget_period_days))
    tail = inst.tail
    for i, (x, _) in v["tail_short"].items():
        x.setInitialValue(max(float(tail[i] - stock[i, -1]), 0.0))


def _start_slacks(inst, v, cfg, stock, units, period_of_day) -> None:
    """Capacity and budget slack: how far the start's stock and spend pass them."""
    from models.replenishment import stock_without_orders

    pos, floor = inst.pos, stock_without_orders(inst)
    for loc, rows in pos.groupby("location_id", sort=True).indices.items():
        cap = float(pos.capacity_units.iat[rows[0]])
        for t in range(stock.shape[1]):
            limit = max(cap, float(floor[rows, t].sum()))
            excess = float(stock[rows, t].sum()) - limit
            v["cap_slack"][(loc, t + 1)].setInitialValue(max(excess, 0.0))
    eur = units * pos.unit_cost_eur.to_numpy()[v["order_row"]]
    period = period_of_day[v["order_day"] - 1]
    for p, slack in v["budget_slack"].items():
        spend = float(eur[period == p].sum())
        slack.setInitialValue(max(spend - cfg.budget_eur, 0.0))
