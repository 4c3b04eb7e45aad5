"""Replenishment plan as a mixed-integer LP (PuLP; HiGHS, CBC as fallback).

Per SKU x location i and day t = 1..H after the run date:
    stock[i,t] = stock[i,t-1] + arrivals[i,t] - demand[i,t] + short[i,t]
    arrivals = open purchase orders due on t + units ordered on t - lead_i
    units ordered = case_pack_i x packs[i,t]              (integer packs)
    MOQ_i x placed[i,t] <= units <= upper[i,t] x placed[i,t]   (placed binary)
    sum_i stock[i,t] <= capacity[location] + cap_slack[location,t]
    sum cost x units ordered in a budget period <= budget + budget_slack[period]
minimising holding cost + lost-sale penalty (margin + goodwill) + a fixed cost
per order + penalised slack. Demand is the protected quantile for the service
level (the P90 at 0.9). Constraints are soft so the plan is never infeasible in
silence: the slack says which constraint bound, by how much and when.

The binary ``placed`` exists only where it changes the answer: where an order
has a fixed cost or the MOQ is larger than one case pack. Its big-M ``upper``
is tight: the units the SKU x location can still use after the order arrives.
The model is built from arrays (one affine expression per constraint from
zipped variable and coefficient arrays) so the build stays a fraction of the
solve; see ``models/replenishment_lines.py`` for the plan's rows and notes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import pulp

from models.highs import BatchHiGHS, solve_summary
from models.lot_sizing import add_tail, economic_order_units, tail_units
from models.replenishment_lines import binding_notes, order_lines
from models.replenishment_start import start_from_relaxation
from models.service import (
    mean_per_p50,
    protected_daily_demand,
    service_levels,
    shortage_eur,
)

CAPACITY_SLACK_EUR_PER_UNIT = 1_000.0
BUDGET_SLACK_EUR_PER_EUR = 50.0
MIN_MILP_SHARE_OF_TIME = 0.5  # of the time limit, however long the relaxation took


@dataclass(frozen=True)
class PlanConfig:
    """Settings of one plan. Money in EUR, time in days."""

    horizon_days: int = 14
    service_level: float = 0.9  # floor of each row's service target
    max_service_level: float = 0.99  # cap: the normal tail past it is guesswork
    review_days: int = 7  # a unit of safety stock is held about this long per cycle
    budget_eur: float = 60_000.0  # per budget period
    budget_period_days: int = 0  # 0: one budget over the horizon; 1 daily; 7 weekly
    order_cost_eur: float = 25.0  # fixed cost of placing one order line
    lost_sale_goodwill_pct: float = 0.5  # penalty beyond lost margin, of list price
    min_shortage_eur: float = 10.0  # floor of that penalty per unit (a service promise)
    # Cover past the horizon (``tail_units``): an order may bring the rest of an
    # economic lot, up to this many days of demand, each unit of it worth this
    # share of a lost sale less its holding; 0 days = the horizon alone counts.
    tail_cover_days: float = 14.0
    tail_value_share: float = 1.0
    time_limit_s: float = 120.0
    mip_gap: float = 0.02
    threads: int = 1
    integer: bool = True  # False: the LP relaxation (fractional packs, no binaries)
    integer_order_days: int = 0  # order days with integer packs; 0 = every day
    # The forecast's relative bias on its holdout, sum(P50 - actual) / sum actual:
    # the plan's expected demand is P50 / (1 + bias) (``models.service``); 0 = P50.
    forecast_bias: float = 0.0
    highs_options: tuple = ()  # extra HiGHS (name, value) options, e.g. solver=ipm


@dataclass
class Instance:
    """The plan's data as arrays, rows ordered by location then SKU."""

    pos: pd.DataFrame
    demand: np.ndarray  # protected units, shape (n, H)
    arrivals: np.ndarray  # open purchase orders due, shape (n, H)
    ds: str
    tail: np.ndarray  # units of cover wanted past the horizon (``tail_units``), (n,)


def solve_plan(
    position: pd.DataFrame, forecast: pd.DataFrame, ds: str, cfg: PlanConfig
):
    """Return (order lines, solve report) for the run date ``ds``.

    ``position``: one row per sku x location_id with on_hand_units,
    on_order_units, on_order_arrival_date, unit_cost_eur, list_price_eur,
    lead_time_days, moq_units, case_pack_units, capacity_units,
    holding_cost_eur_per_unit_day. ``forecast``: sku, location_id,
    horizon_day, p50_units, p90_units, and mean_units if the model has a
    mean (else the plan's mean is P50 / (1 + bias)). The report carries build and solve
    seconds apart, the model's size and the binding constraints in words.
    """
    t0, c0 = time.perf_counter(), time.process_time()
    inst = make_instance(position, forecast, ds, cfg)
    prob, v = build_model(inst, cfg)
    build_s, build_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    limit, relaxed_bound = cfg.time_limit_s, None
    if cfg.integer:  # the relaxation for the start counts against the time limit
        relaxed_bound = start_from_relaxation(prob, inst, v, cfg)
        spent = time.perf_counter() - t0 - build_s
        limit = max(cfg.time_limit_s - spent, MIN_MILP_SHARE_OF_TIME * limit)
    status, solver = solve_model(prob, replace(cfg, time_limit_s=limit))
    solve_s = time.perf_counter() - t0 - build_s
    report = {
        "status": status,
        "solver": solver,
        "build_s": round(build_s, 3),
        "solve_s": round(solve_s, 3),
        # CPU seconds of the process (all threads): wall time on a shared machine
        # says more about the neighbours than about the plan.
        "build_cpu_s": round(build_cpu_s, 3),
        "solve_cpu_s": round(time.process_time() - c0 - build_cpu_s, 3),
        "variables": len(prob._variables),  # registered as constraints were added
        "constraints": len(prob.constraints),
        "binaries": v["binaries"],
        "objective_eur": round(pulp.value(prob.objective) or 0.0, 2),
        **solve_summary(prob),
    }
    _bound_from_relaxation(report, relaxed_bound)
    notes = binding_notes(inst, v, cfg)
    if report.get("highs_status") == "Time limit reached":
        gap = report.get("mip_gap")
        within = (
            "; no bound on its gap yet"
            if gap is None
            else f", within {gap:.1%} of the best bound"
        )
        notes["plan"].append(
            f"solver stopped at its {cfg.time_limit_s:g} s time limit: "
            f"the plan is feasible{within}"
        )
    report["binding"] = notes["plan"]
    lines = order_lines(inst, v, notes, forecast, cfg)
    report["order_lines"] = len(lines)
    first = pd.Timestamp(ds) + pd.Timedelta(days=1)
    report["order_lines_next_day"] = int((lines.order_date == first).sum())
    report["order_cost_eur"] = round(float(lines.order_cost_eur.sum()), 2)
    return lines, report


def _bound_from_relaxation(report: dict, relaxed_bound: float | None) -> None:
    """Where HiGHS stopped before proving a bound, the LP relaxation's optimum
    is one: report the gap against it (weaker, but a gap all the same)."""
    if report.get("mip_gap", 0) is not None or relaxed_bound is None:
        return
    objective = report["objective_eur"]
    report["bound_eur"] = round(relaxed_bound, 2)
    gap = max(objective - relaxed_bound, 0.0) / max(abs(objective), 1e-9)
    report["mip_gap"] = round(gap, 5)
    report["bound_from"] = "LP relaxation"


def make_instance(position, forecast, ds: str, cfg: PlanConfig) -> Instance:
    """Align the forecast and open orders with the position rows."""
    pos = position.sort_values(["location_id", "sku"]).reset_index(drop=True)
    pos["case_pack_units"] = pos.case_pack_units.fillna(1).clip(lower=1)
    pos["moq_units"] = pos.moq_units.fillna(0)
    for col in ("on_hand_units", "on_order_units"):
        pos[col] = pos[col].fillna(0).clip(lower=0)
    H = cfg.horizon_days
    idx = pd.MultiIndex.from_frame(pos[["sku", "location_id"]])

    def wide(col: str) -> np.ndarray:
        grid = forecast.pivot_table(
            index=["sku", "location_id"], columns="horizon_day", values=col
        )
        return grid.reindex(columns=range(1, H + 1)).reindex(idx).fillna(0.0)

    p50, p90 = wide("p50_units").to_numpy(), wide("p90_units").to_numpy()
    if "mean_units" in forecast and forecast.mean_units.notna().all():
        # The model's own expected units; the spread stays P90 - P50.
        mean, spread_from = wide("mean_units").to_numpy(), p50
    else:
        mean, spread_from = mean_per_p50(cfg.forecast_bias) * p50, None
    pos["mean_daily_units"] = mean.mean(axis=1)
    demand = protected_daily_demand(mean, p90, service_levels(pos, cfg), spread_from)
    due = (pd.to_datetime(pos.on_order_arrival_date) - pd.Timestamp(ds)).dt.days
    day = due.fillna(1).clip(1, H).astype(int).to_numpy()
    arrivals = np.zeros((len(pos), H))
    arrivals[np.arange(len(pos)), day - 1] = pos.on_order_units.to_numpy()
    tail = tail_units(pos, cfg)
    return Instance(pos=pos, demand=demand, arrivals=arrivals, ds=ds, tail=tail)


def order_bounds(inst: Instance) -> np.ndarray:
    """Most units an order on day t can usefully bring, shape (n, H); 0 = no order.

    An order arriving on day a can only serve protected demand from a to H and
    the cover past the horizon (``tail_units``), and never more than that
    demand less what is on hand today; an order that cannot arrive inside the
    horizon is worth nothing to the plan.
    """
    n, H = inst.demand.shape
    lead = inst.pos.lead_time_days.to_numpy().astype(int)
    tail = inst.tail  # cover wanted past the horizon
    later = np.cumsum(inst.demand[:, ::-1], axis=1)[:, ::-1] + tail[:, None]
    on_hand = inst.pos.on_hand_units.to_numpy()
    need = np.clip(inst.demand.sum(axis=1) + tail - on_hand, 0, None)
    arrive = np.arange(1, H + 1)[None, :] + lead[:, None]  # arrival day of order t
    rows = np.repeat(np.arange(n)[:, None], H, axis=1)
    useful = np.where(arrive <= H, later[rows, np.clip(arrive, 1, H) - 1], 0.0)
    return np.minimum(useful, need[:, None])


def build_model(inst: Instance, cfg: PlanConfig):
    """The MILP and a dict of its variable arrays (object arrays of LpVariable)."""
    pos, H = inst.pos, inst.demand.shape[1]
    prob = pulp.LpProblem("replenishment", pulp.LpMinimize)
    v = _order_variables(prob, inst, cfg)
    _state_variables(prob, inst, v)
    _balance(prob, inst, v)
    v["cap_slack"], v["cap_forced"] = _capacity(prob, inst, v, H)
    v["budget_slack"], v["spend"] = _budget(prob, pos, v, H, cfg)
    v["tail_short"] = add_tail(prob, inst, v, cfg)
    _objective(prob, pos, v, cfg)
    return prob, v


def _order_variables(prob, inst: Instance, cfg: PlanConfig) -> dict:
    """Packs ordered per SKU x location and order day, where an order can help.

    ``placed`` is the order's binary (None where none is needed): it carries
    the fixed order cost and makes the MOQ semi-continuous, with the order's
    own useful units as its big-M.
    """
    pos = inst.pos
    pack = pos.case_pack_units.to_numpy().astype(float)
    moq = pos.moq_units.to_numpy().astype(float)
    moq_packs = np.ceil(np.maximum(moq, 1) / pack)[:, None]
    bound = order_bounds(inst)
    upper = np.where(
        bound > 0, np.maximum(np.ceil(bound / pack[:, None]), moq_packs), 0
    )
    oi, ot = np.nonzero(upper)  # (row, order day - 1) of each order variable
    whole = integer_days(ot, cfg)
    packs = np.empty(len(oi), dtype=object)
    for k, (i, t) in enumerate(zip(oi, ot, strict=True)):
        kind = "Integer" if whole[k] else "Continuous"
        packs[k] = prob.add_variable(f"packs_{i}_{t + 1}", 0, upper[i, t], kind)
    needs_binary = ((cfg.order_cost_eur > 0) | (moq[oi] > pack[oi])) & whole
    placed = np.full(len(oi), None, dtype=object)
    for k in np.flatnonzero(needs_binary):
        i, t = oi[k], ot[k]
        placed[k] = y = prob.add_variable(f"placed_{i}_{t + 1}", cat="Binary")
        prob += pulp.LpConstraint(packs[k] - upper[i, t] * y, -1, rhs=0)
        if moq[i] > pack[i]:
            prob += pulp.LpConstraint(packs[k] - moq_packs[i, 0] * y, 1, rhs=0)
    return {
        "packs": packs,
        "placed": placed,
        "order_row": oi,
        "order_day": ot + 1,
        "useful_units": bound[oi, ot],  # what it can bring that the plan needs
        "pack": pack,
        "binaries": int(np.count_nonzero(needs_binary)),
    }


def integer_days(order_day_index: np.ndarray, cfg: PlanConfig) -> np.ndarray:
    """Whether each order variable (0-based order day) has integer packs."""
    if not cfg.integer:
        return np.zeros(len(order_day_index), dtype=bool)
    if cfg.integer_order_days <= 0:
        return np.ones(len(order_day_index), dtype=bool)
    return order_day_index < cfg.integer_order_days


def _state_variables(prob, inst: Instance, v: dict) -> None:
    """Stock and unmet demand per row and day, shape (n, H) each.

    Until the first day an order can arrive they are what today's stock and
    open orders make them: those cells are constants (``stock_fixed``,
    ``short_fixed``; None in the variable grids), left out of the objective so
    the MIP gap measures only what decisions change. Fewer variables also
    make the model quicker to build: a third of the cells at 2-7 days' lead.
    """
    n, H = inst.demand.shape
    lead = inst.pos.lead_time_days.to_numpy().astype(int)
    first = np.full(n, H + 1)
    rows = v["order_row"]
    np.minimum.at(first, rows, v["order_day"] + lead[rows])
    v["free"] = free = np.arange(1, H + 1)[None, :] >= first[:, None]
    v["stock_fixed"], v["short_fixed"] = _no_order_path(inst)
    cells = np.nonzero(free)
    for name in ("stock", "short"):
        v[name] = grid = np.full((n, H), None, dtype=object)
        for i, t in zip(*cells, strict=True):
            grid[i, t] = prob.add_variable(f"{name}_{i}_{t + 1}", 0)


def state_values(v: dict, name: str) -> np.ndarray:
    """Solved ``stock`` or ``short`` per row and day, constants included."""
    values = v[f"{name}_fixed"].copy()
    rows, days = np.nonzero(v["free"])
    values[rows, days] = [x.value() or 0.0 for x in v[name][rows, days]]
    return values


def _balance(prob, inst: Instance, v: dict) -> None:
    """Stock today = stock yesterday + arrivals - protected demand + unmet demand,
    from the first day an order can arrive (before it, all is constant)."""
    stock, short, pack, free = v["stock"], v["short"], v["pack"], v["free"]
    n, H = stock.shape
    lead = inst.pos.lead_time_days.to_numpy().astype(int)
    incoming = [[] for _ in range(n * H)]  # (packs variable, -units per pack)
    for x, i, t in zip(v["packs"], v["order_row"], v["order_day"] - 1, strict=True):
        incoming[i * H + t + lead[i]].append((x, -pack[i]))
    rhs = inst.arrivals - inst.demand
    rhs[:, 0] += inst.pos.on_hand_units.to_numpy()
    for i, t in zip(*np.nonzero(free), strict=True):
        terms = [(stock[i, t], 1.0), (short[i, t], -1.0), *incoming[i * H + t]]
        right = float(rhs[i, t])
        if t > 0 and free[i, t - 1]:
            terms.append((stock[i, t - 1], -1.0))
        elif t > 0:
            right += float(v["stock_fixed"][i, t - 1])
        prob += pulp.LpConstraint(pulp.LpAffineExpression(terms), 0, rhs=right)


def stock_without_orders(inst: Instance) -> np.ndarray:
    """Stock each day if nothing more were ordered, shape (n, H): a lower bound.

    New orders only add stock, so where this alone passes a location's
    capacity the excess is forced by today's stock and open orders.
    """
    return _no_order_path(inst)[0]


def _no_order_path(inst: Instance, new_arrivals=None) -> tuple[np.ndarray, np.ndarray]:
    """(stock, unmet demand) each day if nothing more were ordered, or if only
    ``new_arrivals`` (units, shape (n, H)) came in besides the open orders."""
    stock, short = np.zeros_like(inst.demand), np.zeros_like(inst.demand)
    left = inst.pos.on_hand_units.to_numpy().astype(float)
    arrivals = inst.arrivals if new_arrivals is None else inst.arrivals + new_arrivals
    for t in range(inst.demand.shape[1]):
        left = left + arrivals[:, t] - inst.demand[:, t]
        stock[:, t], short[:, t] = np.clip(left, 0, None), np.clip(-left, 0, None)
        left = stock[:, t]
    return stock, short


def _capacity(prob, inst: Instance, v: dict, H: int) -> tuple[dict, dict]:
    """Stock per location and day within capacity, or the slack says how far not.

    The limit is raised to the stock already forced on a day (penalising what
    no decision can change would only blur the MIP gap); the forced excess is
    returned apart, so the plan still reports it.
    """
    slack, forced = {}, {}
    fixed_stock = np.where(v["free"], 0.0, v["stock_fixed"])
    for loc, (rows, cap, limits) in store_limits(inst).items():
        for t in range(H):
            limit = float(limits[t])
            forced[(loc, t + 1)] = limit - cap
            slack[(loc, t + 1)] = s = prob.add_variable(f"cap_slack_{loc}_{t + 1}", 0)
            terms = [(x, 1.0) for x in v["stock"][rows, t] if x is not None]
            prob += pulp.LpConstraint(
                pulp.LpAffineExpression([*terms, (s, -1.0)]),
                -1,
                rhs=limit - float(fixed_stock[rows, t].sum()),
                name=f"cap_{loc}_{t + 1}",
            )
    return slack, forced


def store_limits(inst: Instance) -> dict:
    """{location: (its rows, capacity, stock limit per day)}: the capacity,
    raised on a day to the stock that today's stock and open orders force."""
    pos, floor = inst.pos, stock_without_orders(inst)
    out = {}
    for loc, rows in pos.groupby("location_id", sort=True).indices.items():
        cap = float(pos.capacity_units.iat[rows[0]])
        out[loc] = (rows, cap, np.maximum(cap, floor[rows].sum(axis=0)))
    return out


def budget_periods(H: int, period_days: int) -> np.ndarray:
    """Budget period (0-based) of each order day 1..H."""
    days = np.arange(H)
    return days // period_days if period_days > 0 else np.zeros(H, dtype=int)


def _budget(prob, pos, v: dict, H: int, cfg: PlanConfig):
    """Spend per budget period within the budget, or the slack says how far not."""
    oi, ot = v["order_row"], v["order_day"] - 1
    period = budget_periods(H, cfg.budget_period_days)[ot]
    eur_per_pack = pos.unit_cost_eur.to_numpy()[oi] * v["pack"][oi]
    slack, spend = {}, {}
    for p in np.unique(budget_periods(H, cfg.budget_period_days)):
        k = np.flatnonzero(period == p)
        spend[p] = pulp.LpAffineExpression(
            zip(v["packs"][k], eur_per_pack[k], strict=True)
        )
        slack[p] = s = prob.add_variable(f"budget_slack_{p}", 0)
        prob += pulp.LpConstraint(
            spend[p] - s, -1, rhs=cfg.budget_eur, name=f"budget_{p}"
        )
    return slack, spend


def _objective(prob, pos, v: dict, cfg: PlanConfig) -> None:
    """Holding + lost sales + fixed order costs + cover past the horizon short
    + penalised slack, in EUR, from the first day an order can arrive."""
    rows, days = np.nonzero(v["free"])  # constant before (see _state_variables)
    hold = pos.holding_cost_eur_per_unit_day.to_numpy()[rows]
    lost = shortage_eur(pos, cfg)[rows]
    terms = list(zip(v["stock"][rows, days], hold, strict=True))
    terms += zip(v["short"][rows, days], lost, strict=True)
    terms += [(y, cfg.order_cost_eur) for y in v["placed"] if y is not None]
    terms += v["tail_short"].values()
    per_pack = linear_order_eur_per_pack(pos, v, cfg)
    terms += [(x, c) for x, c in zip(v["packs"], per_pack, strict=True) if c > 0]
    terms += [(s, CAPACITY_SLACK_EUR_PER_UNIT) for s in v["cap_slack"].values()]
    terms += [(s, BUDGET_SLACK_EUR_PER_EUR) for s in v["budget_slack"].values()]
    prob += pulp.LpAffineExpression(terms)


def linear_order_eur_per_pack(pos, v: dict, cfg: PlanConfig) -> np.ndarray:
    """EUR per pack of each order variable: the fixed order cost spread over a
    lot on continuous order days, 0 on integer days (their binary carries it).

    Past the integer order days an order has no binary, so its fixed cost is
    charged per pack as order cost / lot units. The lot is the economic order
    quantity, but never more than the units the order can usefully bring
    (``useful_units``, ``order_bounds``: the protected demand from its arrival
    to the horizon's end and the cover past it, no more than the horizon's
    demand and cover less today's stock; at least one unit): late in the horizon an
    order can only cover a few days, and spreading its cost over a full
    economic lot made later orders look almost free, so the plan put off
    today's order to a later day it then never placed. Not over the MOQ
    either: a continuous order has no MOQ, so a slow mover whose MOQ is two
    months of its demand could order half a unit a day later at 1/24 of the
    order cost, and put off, day after day, the real order that costs all of
    it (on M, 178 of the 200 SKUs out of stock with nothing on order at one
    store on day 89 were left so).
    """
    eur_per_pack = np.zeros(len(v["packs"]))
    if cfg.order_cost_eur <= 0 or not cfg.integer or cfg.integer_order_days <= 0:
        return eur_per_pack
    k = np.flatnonzero(v["order_day"] > cfg.integer_order_days)
    rows = v["order_row"][k]
    useful = np.maximum(v["useful_units"][k], 1.0)
    lot = np.minimum(economic_order_units(pos, cfg)[rows], useful)
    eur_per_pack[k] = cfg.order_cost_eur * v["pack"][rows] / lot
    return eur_per_pack


def solve_model(prob, cfg: PlanConfig) -> tuple[str, str]:
    """Solve with HiGHS from the variables' initial values (a feasible plan), else
    CBC; accept only an optimal, gap-optimal or time-limited feasible plan."""
    attempts = [
        (
            "HiGHS",
            lambda: BatchHiGHS(
                start=cfg.integer,  # an LP start only slowed HiGHS' simplex down
                msg=False,
                timeLimit=cfg.time_limit_s,
                gapRel=cfg.mip_gap,
                threads=cfg.threads,
                **dict(cfg.highs_options),
            ),
        ),
        (
            "CBC",
            lambda: pulp.PULP_CBC_CMD(
                msg=False, timeLimit=cfg.time_limit_s, gapRel=cfg.mip_gap
            ),
        ),
    ]
    errors = []
    for name, make in attempts:
        try:
            code = prob.solve(make())
        except pulp.PulpSolverError as err:
            errors.append(f"{name}: {err}")
            continue
        status = pulp.LpStatus[code]
        if status == "Optimal":
            return status, name
        errors.append(f"{name}: status {status}")
    raise RuntimeError(f"no trustworthy replenishment plan: {'; '.join(errors)}")
