"""Promotion policy: operations' position fed back into marketing's calendar.

- Overstock: a SKU whose stock, open orders and planned arrivals cover more
  than ``overstock_days`` of P90 demand, or whose units on hand have not sold
  for ``ageing_days`` in-stock days, with no promotion running, gets a
  markdown. Its depth is the one that, at the category's fitted price
  elasticity, sells the excess over the markdown window; never past the
  margin floor or ``max_markdown_pct``.
  It is aimed at the consenting segments with the highest measured response
  in the SKU's category. Markdowns are kept in order of the stock value they
  free until the promotion budget (discount money) is spent.
- Stock-out risk: a SKU whose P90 demand over its lead time exceeds its stock
  and open orders gets its running or imminent promotions shrunk to the depth
  supply can carry, or paused when none can; replenishment is told the units
  to pre-stock (``prestock_requests``).

Every adjustment carries its reason, expected units and margin effect (EUR,
against running as before), so marketing can see what it trades.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

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
PRESTOCK_COLUMNS = [
    "sku",
    "promo_id",
    "promo_start_date",
    "shortfall_units",
    "reason",
]


@dataclass(frozen=True)
class PromoConfig:
    """Thresholds of the policy (days, fractions of list price, EUR)."""

    overstock_days: float = 30.0
    markdown_pct: float = 0.2  # depth used when no elasticity is known
    max_markdown_pct: float = 0.4
    markdown_days: int = 14
    margin_floor_pct: float = 0.05  # markdown price >= unit cost x (1 + floor)
    min_markdown_pct: float = 0.05
    ageing_days: int = 28  # stock unsold this long counts as overstock
    budget_eur: float = 5_000.0  # discount money all new markdowns may give away
    target_segments: int = 1  # how many top-responding segments a markdown targets
    prior_elasticity: float = 1.5  # for categories without a fitted elasticity
    # EUR of discount an overstock markdown may give per EUR of holding cost it
    # saves: 1 = it must pay for itself; inf = no such test.
    discount_per_holding_eur: float = 1.0


def sku_position(position, forecast, plan, ageing=None) -> pd.DataFrame:
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
    if "category" not in position:
        position = position.assign(category="all")
    if "holding_cost_eur_per_unit_day" not in position:
        position = position.assign(holding_cost_eur_per_unit_day=np.nan)
    out = (
        position.groupby("sku")
        .agg(
            category=("category", "first"),
            on_hand_units=("on_hand_units", "sum"),
            on_order_units=("on_order_units", "sum"),
            unit_cost_eur=("unit_cost_eur", "first"),
            list_price_eur=("list_price_eur", "first"),
            holding_cost_eur_per_unit_day=("holding_cost_eur_per_unit_day", "mean"),
        )
        .assign(
            planned_units=planned,
            p50_daily_units=fc.groupby("sku").p50_units.sum() / fc.horizon_day.max(),
            p90_daily_units=fc.groupby("sku").p90_units.sum() / fc.horizon_day.max(),
            p90_lead_units=in_lead.groupby("sku").p90_units.sum(),
        )
    )
    unsold = ageing if ageing is not None else pd.Series(dtype=float)
    out["days_since_sale"] = unsold.reindex(out.index)
    num = out.columns.drop(
        ["category", "days_since_sale", "holding_cost_eur_per_unit_day"]
    )
    out[num] = out[num].fillna(0.0)
    return out


def live_promotions(promotions, ds: str, cfg=PromoConfig()) -> pd.DataFrame:
    """Promotions running on ``ds`` or starting within the markdown window."""
    day = pd.Timestamp(ds)
    return promotions[
        (promotions.end_date > day)
        & promotions.status.isin(["active", "planned"])
        & (promotions.start_date <= day + pd.Timedelta(days=cfg.markdown_days))
    ]


def propose(
    position,
    forecast,
    plan,
    promotions,
    response,
    ds: str,
    cfg=PromoConfig(),
    elasticity=None,
    ageing=None,
):
    """Return the day's adjustments (markdowns, shrinks and pauses), one row each.

    ``response``: segment, category (optional), response_lift,
    consenting_customers. ``elasticity``: category -> elasticity (missing
    categories use ``cfg.prior_elasticity``). ``ageing``: SKU -> in-stock days
    since its last sale.
    """
    sku = sku_position(position, forecast, plan, ageing)
    elastic = _elasticity_lookup(sku, elasticity, cfg.prior_elasticity)
    live = live_promotions(promotions, ds, cfg)
    rows = _shortage_rows(sku, live, elastic, ds, cfg)
    rows += _markdowns(sku, live, response, elastic, ds, cfg)
    return (
        pd.DataFrame(rows, columns=COLUMNS)
        .sort_values("adjustment_id")
        .reset_index(drop=True)
    )


def prestock_requests(position, forecast, plan, promotions, ds, cfg=PromoConfig()):
    """What replenishment should pre-stock for promotions a shortage threatens."""
    sku = sku_position(position, forecast, plan)
    risky = _at_risk(sku)
    rows = [
        [
            p.sku,
            p.promo_id,
            p.start_date.strftime("%Y-%m-%d"),
            round(s.p90_lead_units - s.on_hand_units - s.on_order_units, 1),
            f"promotion {p.promo_id} ({p.discount_pct:.0%} off) needs "
            f"{s.p90_lead_units:.0f} units over the lead time at P90; "
            f"{s.on_hand_units + s.on_order_units:.0f} on hand and on order",
        ]
        for p in live_promotions(promotions, ds, cfg).itertuples()
        if p.sku in risky.index
        for s in [risky.loc[p.sku]]
    ]
    return pd.DataFrame(rows, columns=PRESTOCK_COLUMNS).sort_values(["sku", "promo_id"])


def _elasticity_lookup(sku: pd.DataFrame, elasticity, prior: float) -> pd.Series:
    known = pd.Series(elasticity if elasticity is not None else {}, dtype=float)
    return sku.category.map(known).fillna(prior)


def _lift(depth: float, elasticity: float) -> float:
    """Demand multiplier of a ``depth`` markdown (constant elasticity)."""
    return (1 - depth) ** (-elasticity)


def _at_risk(sku: pd.DataFrame) -> pd.DataFrame:
    return sku[sku.p90_lead_units > sku.on_hand_units + sku.on_order_units]


def _shortage_rows(sku, live, elastic, ds, cfg) -> list[list]:
    """Shrink a threatened promotion to what supply carries, or pause it."""
    risky = _at_risk(sku)
    rows = []
    for p in live[live.sku.isin(risky.index)].itertuples():
        s, e = risky.loc[p.sku], elastic[p.sku]
        supply = s.on_hand_units + s.on_order_units
        base = s.p90_lead_units / _lift(p.discount_pct, e)  # demand without it
        depth = 0.0
        if supply > base:
            depth = _floor_pct(1 - (supply / base) ** (-1 / e))
        depth = depth if cfg.min_markdown_pct <= depth < p.discount_pct else 0.0
        action = "shrink" if depth else "pause"
        start = max(p.start_date, pd.Timestamp(ds) + pd.Timedelta(days=1))
        days = max((p.end_date - start).days + 1, 0)
        before = s.p50_daily_units * days
        after = before * _lift(depth, e) / _lift(p.discount_pct, e)
        margin = _margin(after, depth, s) - _margin(before, p.discount_pct, s)
        reason = (
            f"stock-out risk: P90 demand over lead time {s.p90_lead_units:.0f} units "
            f"> {supply:.0f} on hand and on order; "
            + (f"shrink to {depth:.0%} off" if depth else "pause")
            + "; replenishment asked to pre-stock"
        )
        rows.append(
            [f"{ds}:{action}:{p.promo_id}:{p.target_segment}", ds, action, p.promo_id]
            + [p.sku, depth, p.target_segment, f"{start:%Y-%m-%d}"]
            + [f"{p.end_date:%Y-%m-%d}", round(after - before, 1), round(margin, 2)]
            + [reason]
        )
    return rows


def _margin(units: float, depth: float, s) -> float:
    return units * (s.list_price_eur * (1 - depth) - s.unit_cost_eur)


def _floor_pct(x: float) -> float:
    return math.floor(x * 100 + 1e-9) / 100


def _markdown_depth(s, cover: float, e: float, cfg) -> float:
    """Depth that sells the stock above ``overstock_days`` of cover, within bounds."""
    floor = 1 - s.unit_cost_eur * (1 + cfg.margin_floor_pct) / s.list_price_eur
    base = s.p50_daily_units * cfg.markdown_days
    excess = max(s.p90_daily_units * (cover - cfg.overstock_days), 0.0)
    wanted = cfg.markdown_pct
    if base > 0 and excess > 0:
        wanted = 1 - (1 + excess / base) ** (-1 / e)
    depth = _floor_pct(min(max(wanted, cfg.min_markdown_pct), cfg.max_markdown_pct))
    return min(depth, _floor_pct(floor))  # never past the floor


def _markdowns(sku, live, response, elastic, ds, cfg) -> list[list]:
    stock = sku.on_hand_units + sku.on_order_units + sku.planned_units
    cover = stock / sku.p90_daily_units.clip(lower=1e-3)
    # Ageing is about units on the shelf: a sold-out SKU waiting for arrivals
    # is not ageing, however long it has gone without a sale.
    aged = (sku.days_since_sale >= cfg.ageing_days) & (sku.on_hand_units > 0)
    over = sku[((cover > cfg.overstock_days) | aged) & ~sku.index.isin(live.sku)]
    value = (stock * sku.unit_cost_eur).rename("stock_value_eur")
    over = over.join(value).sort_values("stock_value_eur", ascending=False)
    start = pd.Timestamp(ds) + pd.Timedelta(days=1)
    end = start + pd.Timedelta(days=cfg.markdown_days - 1)
    rows, spent = [], 0.0
    for name, s in over.iterrows():
        e = elastic[name]
        depth = _markdown_depth(s, cover[name], e, cfg)
        targets = best_segments(response, s.category, cfg.target_segments)
        if depth < cfg.min_markdown_pct or targets.empty:
            continue
        base = s.p50_daily_units * cfg.markdown_days
        units = base * _lift(depth, e)
        cost = units * s.list_price_eur * depth
        if spent + cost > cfg.budget_eur or not _pays(s, cover[name], cost, cfg):
            continue
        spent += cost
        reason = f"{_overstock_reason(s, cover[name], cfg)}; {depth:.0%} off at "
        reason += f"elasticity {e:.2f}"
        share = targets.weight / targets.weight.sum()
        for t, w in zip(targets.itertuples(), share, strict=True):
            rows.append(
                [f"{ds}:markdown:{name}:{t.segment}", ds, "markdown"]
                + [f"ADJ{start:%Y%m%d}-{name}", name, depth, t.segment]
                + [f"{start:%Y-%m-%d}", f"{end:%Y-%m-%d}", round(units * w, 1)]
                + [round(w * (_margin(units, depth, s) - _margin(base, 0.0, s)), 2)]
                + [f"{reason}; segment {t.segment} lift {t.response_lift:.2f}"]
            )
    return rows


def _pays(s, cover: float, discount_eur: float, cfg) -> bool:
    """Whether an overstock markdown saves more holding cost than it gives away.

    Stock that does not perish sells at full price later anyway, so what a
    markdown buys is the holding cost of the excess units: they would wait on
    average half the excess cover. Ageing stock, and positions without a
    holding cost, are marked down as before; ``cfg.discount_per_holding_eur``
    sets the exchange rate.
    """
    hold = s.holding_cost_eur_per_unit_day
    if cover <= cfg.overstock_days or pd.isna(hold):
        return True
    excess_days = cover - cfg.overstock_days
    saved = s.p90_daily_units * excess_days * hold * excess_days / 2
    return discount_eur <= cfg.discount_per_holding_eur * saved


def _overstock_reason(s, cover: float, cfg) -> str:
    if cover > cfg.overstock_days:
        return f"overstock: {cover:.0f} days of cover (> {cfg.overstock_days:.0f})"
    return (
        f"ageing stock: {s.on_hand_units:.0f} on hand unsold for "
        f"{s.days_since_sale:.0f} in-stock days (>= {cfg.ageing_days})"
    )


def best_segments(response: pd.DataFrame, category: str, k: int) -> pd.DataFrame:
    """The ``k`` consenting segments with the highest lift in ``category``.

    A segment without consenting customers is never targeted. Where the
    category has no measurement, the segment's lift over all categories is used.
    """
    ok = response[response.consenting_customers > 0]
    if "category" in ok:
        mine = ok[ok.category == category]
        ok = mine if len(mine) else _pooled(ok)
    ok = ok.sort_values(["response_lift", "segment"], ascending=[False, True]).head(k)
    return ok.assign(weight=np.maximum(ok.response_lift, 1e-6))


def _pooled(response: pd.DataFrame) -> pd.DataFrame:
    return response.groupby("segment", as_index=False).agg(
        response_lift=("response_lift", "mean"),
        consenting_customers=("consenting_customers", "first"),
    )
