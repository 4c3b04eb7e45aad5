"""Promotion policy: operations' position fed back into marketing's calendar.

- Overstock: a SKU whose stock and planned arrivals cover more than
  ``overstock_days`` even of P90 demand, with no promotion running, gets a
  markdown aimed at the consenting segment that responds most, never below
  the margin floor.
- Stock-out risk: a SKU whose P90 demand over its lead time exceeds the stock
  it will have by then gets its running or imminent promotions paused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

ASSUMED_ELASTICITY = 1.5  # until a fitted elasticity per category exists

COLUMNS = [
    "adjustment_id",
    "ds",
    "action",
    "promo_id",
    "sku",
    "discount_pct",
    "target_segment",
    "start_date",
    "end_date",
    "expected_units",
    "margin_effect_eur",
    "reason",
]


@dataclass(frozen=True)
class PromoConfig:
    """Thresholds of the policy (days, fractions of list price)."""

    overstock_days: float = 30.0
    markdown_pct: float = 0.2
    markdown_days: int = 14
    margin_floor_pct: float = 0.05  # markdown price >= unit cost x (1 + floor)
    min_markdown_pct: float = 0.05


def sku_position(position, forecast, plan) -> pd.DataFrame:
    """Per SKU: stock, planned arrivals, daily P50 and P90, P90 over the lead time."""
    planned = (
        plan.groupby("sku").order_qty_units.sum()
        if len(plan)
        else pd.Series(dtype=float)
    )
    fc = forecast.merge(
        position[["sku", "location_id", "lead_time_days"]], on=["sku", "location_id"]
    )
    in_lead = fc[fc.horizon_day <= fc.lead_time_days]
    return (
        position.groupby("sku")
        .agg(
            on_hand_units=("on_hand_units", "sum"),
            on_order_units=("on_order_units", "sum"),
            unit_cost_eur=("unit_cost_eur", "first"),
            list_price_eur=("list_price_eur", "first"),
        )
        .assign(
            planned_units=planned,
            p50_daily_units=fc.groupby("sku").p50_units.sum() / fc.horizon_day.max(),
            p90_daily_units=fc.groupby("sku").p90_units.sum() / fc.horizon_day.max(),
            p90_lead_units=in_lead.groupby("sku").p90_units.sum(),
        )
        .fillna(0.0)
    )


def propose(position, forecast, plan, promotions, response, ds: str, cfg=PromoConfig()):
    """Return the day's adjustments (markdowns and pauses), one row each."""
    sku = sku_position(position, forecast, plan)
    day = pd.Timestamp(ds)
    live = promotions[
        (promotions.end_date > day)
        & promotions.status.isin(["active", "planned"])
        & (promotions.start_date <= day + pd.Timedelta(days=cfg.markdown_days))
    ]
    rows = _pauses(sku, live, ds) + _markdowns(sku, live, response, ds, cfg)
    return (
        pd.DataFrame(rows, columns=COLUMNS)
        .sort_values("adjustment_id")
        .reset_index(drop=True)
    )


def _pauses(sku, live, ds) -> list[list]:
    rows = []
    supply = sku.on_hand_units + sku.on_order_units
    risky = sku[sku.p90_lead_units > supply]
    for p in live[live.sku.isin(risky.index)].itertuples():
        s = risky.loc[p.sku]
        reason = (
            f"stock-out risk: P90 demand over lead time {s.p90_lead_units:.0f} units "
            f"> {s.on_hand_units + s.on_order_units:.0f} on hand and on order"
        )
        rows.append(
            [
                f"{ds}:pause:{p.promo_id}",
                ds,
                "pause",
                p.promo_id,
                p.sku,
                p.discount_pct,
                p.target_segment,
                ds,
                p.end_date.strftime("%Y-%m-%d"),
                -round(s.p50_daily_units * p.discount_pct * ASSUMED_ELASTICITY, 1),
                0.0,
                reason,
            ]
        )
    return rows


def _markdowns(sku, live, response, ds, cfg) -> list[list]:
    stock = sku.on_hand_units + sku.on_order_units + sku.planned_units
    cover = stock / sku.p90_daily_units.clip(lower=1e-3)
    over = sku[(cover > cfg.overstock_days) & ~sku.index.isin(live.sku)]
    target = _best_segment(response)
    start = pd.Timestamp(ds) + pd.Timedelta(days=1)
    end = start + pd.Timedelta(days=cfg.markdown_days - 1)
    rows = []
    for name, s in over.iterrows():
        floor = 1 - s.unit_cost_eur * (1 + cfg.margin_floor_pct) / s.list_price_eur
        depth = (
            math.floor(min(cfg.markdown_pct, floor) * 100 + 1e-9) / 100
        )  # never past the floor
        if depth < cfg.min_markdown_pct:
            continue
        base = s.p50_daily_units * cfg.markdown_days
        units = base * (1 - depth) ** (-ASSUMED_ELASTICITY)
        margin = units * (s.list_price_eur * (1 - depth) - s.unit_cost_eur) - base * (
            s.list_price_eur - s.unit_cost_eur
        )
        reason = (
            f"overstock: {cover[name]:.0f} days of cover (> {cfg.overstock_days:.0f}); "
            f"{depth:.0%} off for segment {target}"
        )
        rows.append(
            [
                f"{ds}:markdown:{name}",
                ds,
                "markdown",
                f"ADJ{start:%Y%m%d}-{name}",
                name,
                depth,
                target,
                f"{start:%Y-%m-%d}",
                f"{end:%Y-%m-%d}",
                round(units, 1),
                round(margin, 2),
                reason,
            ]
        )
    return rows


def _best_segment(response: pd.DataFrame) -> str:
    """The consenting segment with the highest measured promotion lift."""
    ok = response[response.consenting_customers > 0]
    if ok.empty:
        return "all"
    return ok.sort_values(
        ["response_lift", "segment"], ascending=[False, True]
    ).segment.iat[0]
