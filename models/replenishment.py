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
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd
import pulp

from models.replenishment_lines import binding_notes, order_lines

CAPACITY_SLACK_EUR_PER_UNIT = 1_000.0
BUDGET_SLACK_EUR_PER_EUR = 50.0


@dataclass(frozen=True)
class PlanConfig:
    """Settings of one plan. Money in EUR, time in days."""

    horizon_days: int = 14
    service_level: float = 0.9
    budget_eur: float = 60_000.0  # per budget period
    budget_period_days: int = 0  # 0: one budget over the horizon; 1 daily; 7 weekly
    order_cost_eur: float = 25.0  # fixed cost of placing one order line
    lost_sale_goodwill_pct: float = 0.5  # penalty beyond lost margin, of list price
    time_limit_s: float = 120.0
    mip_gap: float = 0.01
    threads: int = 1
    integer: bool = True  # False: the LP relaxation (fractional packs, no binaries)
    highs_options: tuple = ()  # extra HiGHS (name, value) options, e.g. solver=ipm


def protected_demand(p50, p90, service_level: float) -> np.ndarray:
    """Demand quantile for the service level, interpolated on a normal scale."""
    k = NormalDist().inv_cdf(service_level) / NormalDist().inv_cdf(0.9)
    return np.clip(np.asarray(p50) + k * (np.asarray(p90) - np.asarray(p50)), 0, None)


@dataclass
class Instance:
    """The plan's data as arrays, rows ordered by location then SKU."""

    pos: pd.DataFrame
    demand: np.ndarray  # protected units, shape (n, H)
    arrivals: np.ndarray  # open purchase orders due, shape (n, H)
    ds: str


def solve_plan(
    position: pd.DataFrame, forecast: pd.DataFrame, ds: str, cfg: PlanConfig
):
    """Return (order lines, solve report) for the run date ``ds``.

    ``position``: one row per sku x location_id with on_hand_units,
    on_order_units, on_order_arrival_date, unit_cost_eur, list_price_eur,
    lead_time_days, moq_units, case_pack_units, capacity_units,
    holding_cost_eur_per_unit_day. ``forecast``: sku, location_id,
    horizon_day, p50_units, p90_units. The report carries build and solve
    seconds apart, the model's size and the binding constraints in words.
    """
    t0 = time.perf_counter()
    inst = make_instance(position, forecast, ds, cfg)
    prob, v = build_model(inst, cfg)
    build_s = time.perf_counter() - t0
    status, solver = solve_model(prob, cfg)
    solve_s = time.perf_counter() - t0 - build_s
    report = {
        "status": status,
        "solver": solver,
        "build_s": round(build_s, 3),
        "solve_s": round(solve_s, 3),
        "variables": len(prob.variables()),
        "constraints": len(prob.constraints),
        "binaries": v["binaries"],
        "objective_eur": round(pulp.value(prob.objective) or 0.0, 2),
    }
    notes = binding_notes(inst, v, cfg)
    if solve_s >= 0.98 * cfg.time_limit_s:
        notes["plan"].append(
            f"solver stopped at its {cfg.time_limit_s:.0f} s time limit: "
            "the plan is feasible but may not be optimal"
        )
    report["binding"] = notes["plan"]
    lines = order_lines(inst, v, notes, forecast, cfg)
    report["order_lines"] = len(lines)
    first = pd.Timestamp(ds) + pd.Timedelta(days=1)
    report["order_lines_next_day"] = int((lines.order_date == first).sum())
    report["order_cost_eur"] = round(float(lines.order_cost_eur.sum()), 2)
    return lines, report


def make_instance(position, forecast, ds: str, cfg: PlanConfig) -> Instance:
    """Align the forecast and open orders with the position rows."""
    pos = position.sort_values(["location_id", "sku"]).reset_index(drop=True)
    pos["case_pack_units"] = pos.case_pack_units.fillna(1).clip(lower=1)
    pos["moq_units"] = pos.moq_units.fillna(0)
    for col in ("on_hand_units", "on_order_units"):
        pos[col] = pos[col].fillna(0).clip(lower=0)
    H = cfg.horizon_days
    f = forecast.assign(
        d=protected_demand(forecast.p50_units, forecast.p90_units, cfg.service_level)
    )
    wide = f.pivot_table(
        index=["sku", "location_id"], columns="horizon_day", values="d"
    )
    idx = pd.MultiIndex.from_frame(pos[["sku", "location_id"]])
    demand = wide.reindex(columns=range(1, H + 1)).reindex(idx).fillna(0.0).to_numpy()
    due = (pd.to_datetime(pos.on_order_arrival_date) - pd.Timestamp(ds)).dt.days
    day = due.fillna(1).clip(1, H).astype(int).to_numpy()
    arrivals = np.zeros((len(pos), H))
    arrivals[np.arange(len(pos)), day - 1] = pos.on_order_units.to_numpy()
    return Instance(pos=pos, demand=demand, arrivals=arrivals, ds=ds)


def order_bounds(inst: Instance) -> np.ndarray:
    """Most units an order on day t can usefully bring, shape (n, H); 0 = no order.

    An order arriving on day a can only serve protected demand from a to H,
    and never more than the horizon's demand less what is on hand today; an
    order that cannot arrive inside the horizon is worth nothing to the plan.
    """
    n, H = inst.demand.shape
    lead = inst.pos.lead_time_days.to_numpy().astype(int)
    later = np.cumsum(inst.demand[:, ::-1], axis=1)[:, ::-1]  # demand from day a on
    need = np.clip(inst.demand.sum(axis=1) - inst.pos.on_hand_units.to_numpy(), 0, None)
    arrive = np.arange(1, H + 1)[None, :] + lead[:, None]  # arrival day of order t
    rows = np.repeat(np.arange(n)[:, None], H, axis=1)
    useful = np.where(arrive <= H, later[rows, np.clip(arrive, 1, H) - 1], 0.0)
    return np.minimum(useful, need[:, None])


def build_model(inst: Instance, cfg: PlanConfig):
    """The MILP and a dict of its variable arrays (object arrays of LpVariable)."""
    pos, n, H = inst.pos, *inst.demand.shape
    prob = pulp.LpProblem("replenishment", pulp.LpMinimize)
    pack = pos.case_pack_units.to_numpy().astype(float)
    moq = pos.moq_units.to_numpy().astype(float)
    lead = pos.lead_time_days.to_numpy().astype(int)
    bound = order_bounds(inst)
    moq_packs = np.ceil(np.maximum(moq, 1) / pack)[:, None]
    upper_packs = np.where(
        bound > 0, np.maximum(np.ceil(bound / pack[:, None]), moq_packs), 0
    )
    oi, ot = np.nonzero(upper_packs)  # (row, order day - 1) of each order variable
    kind = "Integer" if cfg.integer else "Continuous"
    packs = np.array(
        [
            pulp.LpVariable(f"packs_{i}_{t + 1}", 0, upper_packs[i, t], cat=kind)
            for i, t in zip(oi, ot, strict=True)
        ],
        dtype=object,
    )
    needs_binary = ((cfg.order_cost_eur > 0) | (moq[oi] > pack[oi])) & cfg.integer
    placed = np.full(len(oi), None, dtype=object)
    for k in np.flatnonzero(needs_binary):
        placed[k] = pulp.LpVariable(f"placed_{oi[k]}_{ot[k] + 1}", cat="Binary")
        prob += packs[k] <= upper_packs[oi[k], ot[k]] * placed[k]
        if moq[oi[k]] > pack[oi[k]]:
            prob += packs[k] >= moq_packs[oi[k], 0] * placed[k]
    stock = _var_grid("stock", n, H)
    short = _var_grid("short", n, H)
    incoming = [[] for _ in range(n * H)]  # (packs variable, units per pack)
    for k, (i, t) in enumerate(zip(oi, ot, strict=True)):
        incoming[i * H + t + lead[i]].append((packs[k], pack[i]))
    on_hand = pos.on_hand_units.to_numpy().astype(float)
    for i in range(n):
        for t in range(H):
            terms = [(stock[i, t], 1.0), (short[i, t], -1.0)]
            terms += [(x, -u) for x, u in incoming[i * H + t]]
            start = on_hand[i] if t == 0 else 0.0
            if t > 0:
                terms.append((stock[i, t - 1], -1.0))
            rhs = start + inst.arrivals[i, t] - inst.demand[i, t]
            prob += pulp.LpConstraint(pulp.LpAffineExpression(terms), 0, rhs=rhs)
    cap_slack = _capacity(prob, pos, stock, H)
    budget_slack, spend = _budget(prob, pos, packs, oi, ot, pack, H, cfg)
    _objective(prob, pos, stock, short, placed, cap_slack, budget_slack, cfg)
    return prob, {
        "packs": packs,
        "placed": placed,
        "order_row": oi,
        "order_day": ot + 1,
        "pack": pack,
        "stock": stock,
        "short": short,
        "cap_slack": cap_slack,
        "budget_slack": budget_slack,
        "spend": spend,
        "binaries": int(needs_binary.sum()) if len(oi) else 0,
    }


def _var_grid(name: str, n: int, H: int) -> np.ndarray:
    grid = np.empty((n, H), dtype=object)
    for i in range(n):
        for t in range(H):
            grid[i, t] = pulp.LpVariable(f"{name}_{i}_{t + 1}", 0)
    return grid


def _capacity(prob, pos, stock, H) -> dict:
    """Stock per location and day within capacity, or the slack says how far not."""
    slack = {}
    for loc, rows in pos.groupby("location_id", sort=True).indices.items():
        cap = float(pos.capacity_units.iat[rows[0]])
        for t in range(H):
            slack[(loc, t + 1)] = s = pulp.LpVariable(f"cap_slack_{loc}_{t + 1}", 0)
            terms = [(x, 1.0) for x in stock[rows, t]] + [(s, -1.0)]
            prob += pulp.LpConstraint(
                pulp.LpAffineExpression(terms), -1, rhs=cap, name=f"cap_{loc}_{t + 1}"
            )
    return slack


def budget_periods(H: int, period_days: int) -> np.ndarray:
    """Budget period (0-based) of each order day 1..H."""
    days = np.arange(H)
    return days // period_days if period_days > 0 else np.zeros(H, dtype=int)


def _budget(prob, pos, packs, oi, ot, pack, H, cfg):
    """Spend per budget period within the budget, or the slack says how far not."""
    period = budget_periods(H, cfg.budget_period_days)[ot] if len(ot) else ot
    eur_per_pack = pos.unit_cost_eur.to_numpy()[oi] * pack[oi]
    slack, spend = {}, {}
    for p in np.unique(budget_periods(H, cfg.budget_period_days)):
        k = np.flatnonzero(period == p)
        spend[p] = pulp.LpAffineExpression(zip(packs[k], eur_per_pack[k], strict=True))
        slack[p] = s = pulp.LpVariable(f"budget_slack_{p}", 0)
        prob += pulp.LpConstraint(
            spend[p] - s, -1, rhs=cfg.budget_eur, name=f"budget_{p}"
        )
    return slack, spend


def lost_sale_eur(pos: pd.DataFrame, goodwill_pct: float) -> np.ndarray:
    """Penalty per unit of unmet protected demand: lost margin plus goodwill."""
    margin = (pos.list_price_eur - pos.unit_cost_eur).clip(lower=0).to_numpy()
    return margin + goodwill_pct * pos.list_price_eur.to_numpy()


def _objective(prob, pos, stock, short, placed, cap_slack, budget_slack, cfg):
    H = stock.shape[1]
    hold = np.repeat(pos.holding_cost_eur_per_unit_day.to_numpy()[:, None], H, 1)
    lost = np.repeat(lost_sale_eur(pos, cfg.lost_sale_goodwill_pct)[:, None], H, 1)
    terms = list(zip(stock.ravel(), hold.ravel(), strict=True))
    terms += zip(short.ravel(), lost.ravel(), strict=True)
    terms += [(y, cfg.order_cost_eur) for y in placed if y is not None]
    terms += [(s, CAPACITY_SLACK_EUR_PER_UNIT) for s in cap_slack.values()]
    terms += [(s, BUDGET_SLACK_EUR_PER_EUR) for s in budget_slack.values()]
    prob += pulp.LpAffineExpression(terms)


def solve_model(prob, cfg: PlanConfig) -> tuple[str, str]:
    """Solve with HiGHS, else CBC; accept only an optimal (or gap-optimal) plan."""
    attempts = [
        (
            "HiGHS",
            lambda: pulp.HiGHS(
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
