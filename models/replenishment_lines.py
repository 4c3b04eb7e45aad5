"""The solved replenishment plan in the ops teams' words: order lines and notes."""

from __future__ import annotations

import numpy as np
import pandas as pd

PLAN_COLUMNS = [
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


def binding_notes(inst, v, cfg) -> dict:
    """Which soft constraints bound, by how much and when, in plain words.

    Returns ``{"plan": [...], "budget": {period: note}, "capacity":
    {(location, day): note}}``: the plan-wide list goes to the run report, the
    keyed notes to the order lines they constrain.
    """
    run = pd.Timestamp(inst.ds)
    budget, capacity = {}, {}
    unmet = unmet_orderable_eur(inst, v, cfg)
    for p, s in v["budget_slack"].items():
        start = run + pd.Timedelta(days=1 + p * max(cfg.budget_period_days, 0))
        when = _period_words(start, cfg.budget_period_days)
        spend = v["spend"][p].value() or 0.0
        if spend < cfg.budget_eur * 0.999 and (s.value() or 0.0) <= 0.5:
            continue
        short = (s.value() or 0.0) + unmet.get(p, 0.0)
        if short > 0.5:
            budget[p] = f"budget short by {short:,.0f} EUR {when}"
        else:
            budget[p] = f"budget binding at {cfg.budget_eur:,.0f} EUR {when}"
    for (loc, t), s in v["cap_slack"].items():
        excess = (s.value() or 0.0) + v["cap_forced"][(loc, t)]
        if excess > 0.5:
            day = run + pd.Timedelta(days=t)
            capacity[(loc, t)] = (
                f"capacity of {loc} short by {excess:,.0f} units on {day:%Y-%m-%d}"
            )
    return {
        "plan": list(budget.values()) + list(capacity.values()),
        "budget": budget,
        "capacity": capacity,
    }


def unmet_orderable_eur(inst, v, cfg) -> dict:
    """EUR at cost of protected demand the plan leaves unmet though an order could
    still arrive in time, per budget period of the latest such order day.

    Where the budget bound, this is how much more budget the service target needs.
    """
    from models.replenishment import budget_periods, state_values

    short = state_values(v, "short")
    H = short.shape[1]
    lead = inst.pos.lead_time_days.to_numpy().astype(int)
    order_day = np.arange(1, H + 1)[None, :] - lead[:, None]
    orderable = (order_day >= 1) & (short > 1e-6)
    eur = short * inst.pos.unit_cost_eur.to_numpy()[:, None]
    period = budget_periods(H, cfg.budget_period_days)[np.clip(order_day, 1, H) - 1]
    return {
        int(p): float(eur[orderable & (period == p)].sum())
        for p in np.unique(period[orderable])
    }


def _period_words(start: pd.Timestamp, period_days: int) -> str:
    if period_days == 1:
        return f"on {start:%Y-%m-%d}"
    if period_days > 1:
        return f"in the {period_days} days from {start:%Y-%m-%d}"
    return "over the horizon"


def order_lines(inst, v, notes: dict, forecast: pd.DataFrame, cfg) -> pd.DataFrame:
    """One row per order, most urgent first (earliest projected stock-out)."""
    from models.replenishment import budget_periods

    packs = np.array([round(x.value() or 0) for x in v["packs"]], dtype=np.int64)
    keep = packs > 0
    rows, day, n_packs = v["order_row"][keep], v["order_day"][keep], packs[keep]
    pos, run = inst.pos, pd.Timestamp(inst.ds)
    p = pos.iloc[rows].reset_index(drop=True)
    units = n_packs * v["pack"][rows].astype(np.int64)
    out_day = _stockout_day(inst)
    period = budget_periods(inst.demand.shape[1], cfg.budget_period_days)[day - 1]
    lines = pd.DataFrame(
        {
            "sku": p.sku,
            "location_id": p.location_id,
            "order_date": run + pd.to_timedelta(day, "D"),
            "arrival_date": run + pd.to_timedelta(day + p.lead_time_days, "D"),
            "order_qty_units": units,
            "order_cases": n_packs,
            "order_cost_eur": (units * p.unit_cost_eur).round(2),
            "on_hand_units": p.on_hand_units.astype(np.int64),
            "on_order_units": p.on_order_units.astype(np.int64),
            "forecast_p50_units": 0.0,
            "forecast_p90_units": 0.0,
            "days_of_cover": _days_of_cover(inst)[rows].round(1),
            "projected_stockout_date": [
                run + pd.Timedelta(days=int(d)) if d else pd.NaT for d in out_day[rows]
            ],
            "binding_constraint": [
                _line_binding(notes, per, loc, arr)
                for per, loc, arr in zip(
                    period, p.location_id, day + p.lead_time_days, strict=True
                )
            ],
        }
    )
    only_first = cfg.integer and cfg.integer_order_days > 0
    lines["reason"] = [
        _reason(r) + (INDICATIVE if only_first and d > cfg.integer_order_days else "")
        for r, d in zip(lines.itertuples(), day, strict=True)
    ]
    horizon = forecast.groupby(["sku", "location_id"])[["p50_units", "p90_units"]].sum()
    keys = pd.MultiIndex.from_frame(lines[["sku", "location_id"]])
    lines["forecast_p50_units"] = horizon.p50_units.reindex(keys).round(1).to_numpy()
    lines["forecast_p90_units"] = horizon.p90_units.reindex(keys).round(1).to_numpy()
    return by_urgency(lines)[PLAN_COLUMNS]


def by_urgency(lines: pd.DataFrame) -> pd.DataFrame:
    """Lines most urgent first: earliest projected stock-out, then order date."""
    urgency = lines.projected_stockout_date.fillna(pd.Timestamp.max)
    order = np.lexsort(
        (lines.location_id, lines.sku, lines.order_date, urgency.to_numpy())
    )
    return lines.iloc[order].reset_index(drop=True)


def _days_of_cover(inst) -> np.ndarray:
    """(On hand + on order) / mean protected daily demand, in days."""
    daily = np.maximum(inst.demand.mean(axis=1), 1e-9)
    supply = inst.pos.on_hand_units.to_numpy() + inst.pos.on_order_units.to_numpy()
    return supply / daily


def _stockout_day(inst) -> np.ndarray:
    """First horizon day on which protected demand outruns stock and open orders.

    0 where stock lasts the horizon without new orders.
    """
    supply = inst.pos.on_hand_units.to_numpy()[:, None] + np.cumsum(
        inst.arrivals, axis=1
    )
    gap = np.cumsum(inst.demand, axis=1) > supply + 1e-9
    return np.where(gap.any(axis=1), gap.argmax(axis=1) + 1, 0)


def _line_binding(notes: dict, period: int, loc: str, arrival_day: int) -> str:
    """The budget note of the order's period and the first capacity note of its
    location from its arrival on; empty when nothing bound."""
    found = [notes["budget"][period]] if period in notes["budget"] else []
    cap = [n for (lc, t), n in notes["capacity"].items() if lc == loc]
    cap_after = [
        n for (lc, t), n in notes["capacity"].items() if lc == loc and t >= arrival_day
    ]
    if cap_after or cap:
        found.append((cap_after or cap)[0])
    return "; ".join(found)


# Only the next order day's lines are placed; later ones are continuous in the
# plan (plan_integer_order_days) and come back re-planned tomorrow.
INDICATIVE = "; indicative: re-planned before it is placed, MOQ not yet applied"


def _reason(line) -> str:
    if pd.notna(line.projected_stockout_date):
        return (
            f"projected stock-out on {line.projected_stockout_date:%Y-%m-%d} "
            "without this order"
        )
    return "keeps stock at the service level over the horizon"
