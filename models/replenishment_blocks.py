"""The replenishment plan solved one location at a time, coordinated on the budget.

Stock balance, case packs and MOQ are per SKU x location and capacity is per
location: only the purchasing budget couples locations. So the plan splits
into one MILP per location, each far quicker than its share of the whole
(HiGHS' time grows faster than the model).

First pass: every location with the whole budget. Each block then relaxes its
part of the whole problem, so the blocks' objectives add up to a lower bound;
when their orders together stay within the budget in every budget period, the
union is feasible and as good as the whole problem's plan (within the MIP
gap). Second pass, only when the budget binds across locations: each location
gets the budget in proportion to its first-pass spend and is solved again;
the union then respects the budget, and the first pass's bound says how far
from optimal the split can be.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from models.replenishment import PlanConfig, budget_periods, solve_plan
from models.replenishment_lines import by_urgency

FIRST_PASS_SHARE_OF_TIME = 0.6  # of the time limit, if a second pass is needed


def solve_by_location(
    position: pd.DataFrame, forecast: pd.DataFrame, ds: str, cfg: PlanConfig
) -> tuple[pd.DataFrame, dict]:
    """Order lines and a solve report, as ``solve_plan`` returns them.

    The solver time limit is shared out over the blocks by their rows, 60 % of
    it to the first pass, the rest to a second; the report adds ``blocks``
    (each location's times, status and gap) and ``budget_split`` (EUR per
    location, only when the budget bound across locations).
    """
    return finish_blocks(
        first_pass(position, forecast, ds, cfg), position, forecast, ds, cfg
    )


def first_pass(
    position: pd.DataFrame,
    forecast: pd.DataFrame,
    ds: str,
    cfg: PlanConfig,
    locations=None,
) -> dict:
    """{location: (lines, report)}: each of ``locations`` (default: all) that
    has a stock position, solved with the whole budget.

    Each block's time limit is its share of ``position``'s rows, so solving
    the locations in groups (a region per task) gives the blocks that one
    call for all of them gives. A location without a position today (a new
    store, a missing snapshot) has nothing to plan.
    """
    present = position.location_id.unique()
    locations = present if locations is None else set(locations) & set(present)
    return _solve_blocks(
        position,
        forecast,
        ds,
        replace(cfg, time_limit_s=FIRST_PASS_SHARE_OF_TIME * cfg.time_limit_s),
        {loc: cfg.budget_eur for loc in sorted(locations)},
    )


def finish_blocks(
    first: dict,
    position: pd.DataFrame,
    forecast: pd.DataFrame,
    ds: str,
    cfg: PlanConfig,
) -> tuple[pd.DataFrame, dict]:
    """The first pass's union if it keeps to the budget, else the second pass."""
    first = dict(sorted(first.items()))
    locations = list(first)
    union = pd.concat([lines for lines, _ in first.values()], ignore_index=True)
    if not periods_over_budget(union, ds, cfg):
        return by_urgency(union), merge_reports(first, bound_from=first)
    shares = budget_shares(union, cfg.budget_eur, locations)
    second = _solve_blocks(
        position,
        forecast,
        ds,
        replace(cfg, time_limit_s=(1 - FIRST_PASS_SHARE_OF_TIME) * cfg.time_limit_s),
        shares,
    )
    union = pd.concat([lines for lines, _ in second.values()], ignore_index=True)
    report = merge_reports(second, bound_from=first)
    report["budget_split"] = {loc: round(eur, 2) for loc, eur in shares.items()}
    report["binding"].insert(
        0,
        "budget binds across locations: split in proportion to each location's "
        "spend with the whole budget",
    )
    return by_urgency(union), report


def _solve_blocks(position, forecast, ds, cfg, budget_of: dict) -> dict:
    """{location: (lines, report)}, each solved with its own budget and the
    solver time limit shared out by its rows (not by the clock, so a re-run
    gives each block the same limit; a block that stops at it keeps the best
    plan found in that time, which depends on the machine's load)."""
    solved = {}
    for loc, budget_eur in budget_of.items():
        rows = position.location_id == loc
        limit = cfg.time_limit_s * rows.sum() / len(position)
        solved[loc] = solve_plan(
            position[rows],
            forecast[forecast.location_id == loc],
            ds,
            replace(cfg, budget_eur=budget_eur, time_limit_s=limit),
        )
    return solved


def periods_over_budget(lines: pd.DataFrame, ds: str, cfg: PlanConfig) -> list[int]:
    """Budget periods (0-based) in which the lines spend more than the budget."""
    day = (pd.to_datetime(lines.order_date) - pd.Timestamp(ds)).dt.days - 1
    period = budget_periods(cfg.horizon_days, cfg.budget_period_days)[day.to_numpy()]
    spend = lines.order_cost_eur.groupby(period).sum()
    return [int(p) for p in spend.index[spend.to_numpy() > cfg.budget_eur + 1e-6]]


def budget_shares(lines: pd.DataFrame, budget_eur: float, locations) -> dict:
    """Budget per location in proportion to its spend in ``lines`` (EUR)."""
    spend = lines.groupby("location_id").order_cost_eur.sum()
    spend = spend.reindex(locations, fill_value=0.0)
    return {loc: budget_eur * eur / spend.sum() for loc, eur in spend.items()}


def merge_reports(solved: dict, bound_from: dict) -> dict:
    """One report for the blocks of ``solved``; the gap is measured against the
    bound of ``bound_from`` (the first pass, a relaxation of the whole plan)."""
    reports = [report for _, report in solved.values()]
    total = {
        key: round(sum(r[key] for r in reports), 3)
        for key in (
            "build_s",
            "solve_s",
            "build_cpu_s",
            "solve_cpu_s",
            "variables",
            "constraints",
            "binaries",
            "objective_eur",
            "order_lines",
            "order_lines_next_day",
            "order_cost_eur",
        )
    }
    statuses = {r.get("highs_status") for r in reports}
    merged = {
        "status": "Optimal",
        "solver": "+".join(sorted({r["solver"] for r in reports})),
        **total,
        "highs_status": (statuses - {"Optimal"} or {"Optimal"}).pop(),
        "binding": [note for r in reports for note in r["binding"]],
        "blocks": {loc: _brief(report) for loc, (_, report) in solved.items()},
    }
    bounds = [r.get("bound_eur") for _, r in bound_from.values()]
    if all("mip_gap" in r for r in reports):  # MILP blocks (an LP has no gap)
        known = None not in bounds
        merged["bound_eur"] = round(sum(bounds), 2) if known else None
        merged["mip_gap"] = (
            relative_gap(merged["objective_eur"], sum(bounds)) if known else None
        )
    return merged


def _brief(report: dict) -> dict:
    keys = ("build_s", "solve_s", "binaries", "highs_status", "mip_gap")
    return {key: report[key] for key in keys if key in report}


def relative_gap(objective: float, bound: float) -> float:
    """HiGHS' relative gap: (objective - bound) / objective, at least 0 (the
    blocks' own gaps can put the bound a hair above the objective)."""
    return round(max(objective - bound, 0.0) / max(abs(objective), 1e-9), 5)
