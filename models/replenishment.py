"""Replenishment plan as a mixed-integer LP (PuLP; HiGHS, CBC as fallback).

Per SKU x location i and day t = 1..H after the run date:
    stock[i,t] = stock[i,t-1] + arrivals[i,t] - demand[i,t] + short[i,t]
    arrivals = open purchase orders due on t + orders placed on t - lead_i
    orders are whole lots: case packs, at least the MOQ (integer variables)
    sum_i stock[i,t] <= capacity[location] + cap_slack[location,t]
    sum cost x orders <= budget + budget_slack
minimising holding cost + lost-sale penalty + penalised slack. Demand is the
protected quantile for the service level (P50 at 0.5, P90 at 0.9).
Constraints are soft so the plan is never infeasible in silence: the slack
says which constraint bound and by how much.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd
import pulp

CAPACITY_SLACK_EUR_PER_UNIT = 1_000.0
BUDGET_SLACK_EUR_PER_EUR = 50.0


@dataclass(frozen=True)
class PlanConfig:
    """Settings of one plan. Money in EUR, time in days."""

    horizon_days: int = 14
    service_level: float = 0.9
    budget_eur: float = 60_000.0
    lost_sale_goodwill_pct: float = 0.5  # penalty beyond lost margin, of list price
    time_limit_s: float = 120.0
    mip_gap: float = 0.01


def protected_demand(p50, p90, service_level: float) -> np.ndarray:
    """Demand quantile for the service level, interpolated on a normal scale."""
    k = NormalDist().inv_cdf(service_level) / NormalDist().inv_cdf(0.9)
    return np.clip(np.asarray(p50) + k * (np.asarray(p90) - np.asarray(p50)), 0, None)


def solve_plan(
    position: pd.DataFrame, forecast: pd.DataFrame, ds: str, cfg: PlanConfig
):
    """Return (order lines, solve report) for the run date ``ds``.

    ``position``: one row per sku x location_id with on_hand_units,
    on_order_units, on_order_arrival_date, unit_cost_eur, list_price_eur,
    lead_time_days, moq_units, case_pack_units, capacity_units,
    holding_cost_eur_per_unit_day. ``forecast``: sku, location_id,
    horizon_day, p50_units, p90_units.
    """
    t0 = time.perf_counter()
    pos = position.sort_values(["location_id", "sku"]).reset_index(drop=True)
    H = cfg.horizon_days
    demand = _demand_matrix(pos, forecast, H, cfg.service_level)
    arrivals = _open_order_matrix(pos, ds, H)
    prob, v = _build(pos, demand, arrivals, cfg)
    build_s = time.perf_counter() - t0
    status, solver = _solve(prob, cfg)
    report = {
        "status": status,
        "solver": solver,
        "build_s": round(build_s, 3),
        "solve_s": round(time.perf_counter() - t0 - build_s, 3),
        "variables": len(prob.variables()),
        "constraints": len(prob.constraints),
        "objective_eur": round(pulp.value(prob.objective) or 0.0, 2),
    }
    report["binding"] = _binding(pos, v, cfg, ds)
    # PuLP has reported "Optimal" for a HiGHS run stopped by its time limit.
    if report["solve_s"] >= 0.98 * cfg.time_limit_s:
        report["binding"].append(
            f"solver stopped at its {cfg.time_limit_s:.0f} s time limit: "
            "the plan is feasible but may not be optimal"
        )
    lines = _order_lines(pos, v, demand, ds, report["binding"])
    horizon = forecast.groupby(["sku", "location_id"])[["p50_units", "p90_units"]].sum()
    lines["forecast_p50_units"] = _lookup(lines, horizon.p50_units)
    lines["forecast_p90_units"] = _lookup(lines, horizon.p90_units)
    report["order_lines"] = len(lines)
    first = pd.Timestamp(ds) + pd.Timedelta(days=1)
    report["order_lines_next_day"] = int((lines.order_date == first).sum())
    report["order_cost_eur"] = round(float(lines.order_cost_eur.sum()), 2)
    return lines.reset_index(drop=True), report


def _lookup(lines: pd.DataFrame, series: pd.Series) -> pd.Series:
    keys = pd.MultiIndex.from_frame(lines[["sku", "location_id"]])
    return pd.Series(series.reindex(keys).round(1).to_numpy(), index=lines.index)


def _demand_matrix(pos, forecast, H, service_level) -> np.ndarray:
    f = forecast.assign(
        d=protected_demand(forecast.p50_units, forecast.p90_units, service_level)
    )
    wide = f.pivot_table(
        index=["sku", "location_id"], columns="horizon_day", values="d"
    )
    wide = wide.reindex(columns=range(1, H + 1))
    idx = pd.MultiIndex.from_frame(pos[["sku", "location_id"]])
    return wide.reindex(idx).fillna(0.0).to_numpy()


def _open_order_matrix(pos, ds, H) -> np.ndarray:
    due = (pd.to_datetime(pos.on_order_arrival_date) - pd.Timestamp(ds)).dt.days
    day = due.fillna(1).clip(1, H).astype(int).to_numpy()
    arrivals = np.zeros((len(pos), H))
    arrivals[np.arange(len(pos)), day - 1] = pos.on_order_units.fillna(0).to_numpy()
    return arrivals


def _build(pos, demand, arrivals, cfg):
    n, H = demand.shape
    prob = pulp.LpProblem("replenishment", pulp.LpMinimize)
    lead = pos.lead_time_days.to_numpy()
    pack = pos.case_pack_units.clip(lower=1).to_numpy()
    moq = pos.moq_units.fillna(0).to_numpy()
    cost = pos.unit_cost_eur.to_numpy()
    # Orders come in lots: whole case packs, at least the MOQ (rounded up to
    # packs). A semi-continuous MOQ (zero, or MOQ plus any packs) needs a
    # binary per order and solved 20x slower on S; it is left for later.
    lot = pack * np.ceil(np.maximum(moq, pack) / pack)
    # Orders only where they arrive inside the horizon: day t + lead <= H.
    lots = {
        (i, t): pulp.LpVariable(f"lots_{i}_{t}", 0, cat="Integer")
        for i in range(n)
        for t in range(1, H + 1)
        if t + lead[i] <= H
    }
    stock = [
        [pulp.LpVariable(f"stock_{i}_{t}", 0) for t in range(H + 1)] for i in range(n)
    ]
    short = [
        [pulp.LpVariable(f"short_{i}_{t}", 0) for t in range(H + 1)] for i in range(n)
    ]
    on_hand = pos.on_hand_units.fillna(0).to_numpy()
    for i in range(n):
        prob += stock[i][0] == float(on_hand[i])
        for t in range(1, H + 1):
            inflow = lots.get((i, t - lead[i]))
            arriving = lot[i] * inflow if inflow is not None else 0
            prob += (
                stock[i][t]
                == stock[i][t - 1]
                + float(arrivals[i, t - 1])
                + arriving
                - float(demand[i, t - 1])
                + short[i][t]
            )
    cap_slack = {}
    for loc, rows in pos.groupby("location_id").indices.items():
        cap = float(pos.capacity_units.iat[rows[0]])
        for t in range(1, H + 1):
            cap_slack[(loc, t)] = s = pulp.LpVariable(f"cap_slack_{loc}_{t}", 0)
            prob += (
                pulp.lpSum(stock[i][t] for i in rows) <= cap + s,
                f"capacity_{loc}_{t}",
            )
    budget_slack = pulp.LpVariable("budget_slack", 0)
    spend = pulp.lpSum(float(cost[i] * lot[i]) * n for (i, _), n in lots.items())
    prob += spend <= cfg.budget_eur + budget_slack, "budget"
    hold = pos.holding_cost_eur_per_unit_day.to_numpy()
    lost = (pos.list_price_eur - pos.unit_cost_eur).clip(
        lower=0
    ).to_numpy() + cfg.lost_sale_goodwill_pct * pos.list_price_eur.to_numpy()
    prob += (
        pulp.lpSum(
            float(hold[i]) * stock[i][t] + float(lost[i]) * short[i][t]
            for i in range(n)
            for t in range(1, H + 1)
        )
        + CAPACITY_SLACK_EUR_PER_UNIT * pulp.lpSum(cap_slack.values())
        + BUDGET_SLACK_EUR_PER_EUR * budget_slack
    )
    v = {
        "lots": lots,
        "stock": stock,
        "short": short,
        "cap_slack": cap_slack,
        "budget_slack": budget_slack,
        "spend": spend,
        "lot": lot,
        "pack": pack,
    }
    return prob, v


def _solve(prob, cfg) -> tuple[str, str]:
    """Solve with HiGHS, else CBC; accept only an optimal (or gap-optimal) plan."""
    attempts = [
        (
            "HiGHS",
            lambda: pulp.HiGHS(
                msg=False, timeLimit=cfg.time_limit_s, gapRel=cfg.mip_gap, threads=1
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


def _binding(pos, v, cfg, ds) -> list[str]:
    notes = []
    spend = pulp.value(v["spend"]) or 0.0
    short = v["budget_slack"].value() or 0.0
    if short > 0.5:
        notes.append(f"budget short by {short:,.0f} EUR over the horizon")
    elif spend >= cfg.budget_eur * 0.999:
        notes.append(f"budget binding at {cfg.budget_eur:,.0f} EUR")
    for (loc, t), s in v["cap_slack"].items():
        if (s.value() or 0) > 0.5:
            day = pd.Timestamp(ds) + pd.Timedelta(days=t)
            notes.append(
                f"capacity of {loc} short by {s.value():,.0f} units on {day:%Y-%m-%d}"
            )
    return notes


def _order_lines(pos, v, demand, ds, binding) -> pd.DataFrame:
    run = pd.Timestamp(ds)
    rows = []
    for (i, t), var in v["lots"].items():
        n = int(round(var.value() or 0))
        if n <= 0:
            continue
        units = int(n * v["lot"][i])
        rows.append(
            _line(
                pos.iloc[i],
                t,
                units,
                units // int(v["pack"][i]),
                run,
                demand[i],
                binding,
            )
        )
    cols = [
        "sku",
        "location_id",
        "order_date",
        "arrival_date",
        "order_qty_units",
        "order_cases",
        "order_cost_eur",
        "on_hand_units",
        "on_order_units",
        "forecast_p50_units",
        "forecast_p90_units",
        "days_of_cover",
        "projected_stockout_date",
        "binding_constraint",
        "reason",
    ]
    out = pd.DataFrame(rows, columns=cols + ["_urgency"])
    return out.sort_values(["_urgency", "order_date", "sku", "location_id"]).drop(
        columns="_urgency"
    )


def _line(p, t, units, n_cases, run, demand_i, binding):
    daily = max(demand_i.mean(), 1e-9)
    cover = (p.on_hand_units + p.on_order_units) / daily
    cum = np.cumsum(demand_i) - p.on_hand_units
    out_day = int(np.argmax(cum > 0)) + 1 if (cum > 0).any() else None
    stockout = run + pd.Timedelta(days=out_day) if out_day else pd.NaT
    reason = (
        f"projected stock-out on {stockout:%Y-%m-%d} without this order"
        if out_day
        else "keeps stock at the service level over the horizon"
    )
    return [
        p.sku,
        p.location_id,
        run + pd.Timedelta(days=t),
        run + pd.Timedelta(days=t + int(p.lead_time_days)),
        units,
        n_cases,
        round(units * p.unit_cost_eur, 2),
        int(p.on_hand_units),
        int(p.on_order_units),
        None,
        None,
        round(cover, 1),
        stockout,
        "; ".join(binding),
        reason,
        out_day if out_day else 10**6,
    ]
