"""How the market reacts to yesterday's decisions."""

from __future__ import annotations

import pandas as pd

from pipeline.market.state import MarketState
from pipeline.settings import Settings


def apply_decisions(settings: Settings, state: MarketState, day) -> pd.DataFrame:
    """Apply yesterday's promotion adjustments; return today's purchase orders.

    Orders come from ``out/<yesterday>/replenishment_plan.csv`` (lines whose
    order_date is ``day``); adjustments from the marketing database, the way
    marketing's system would run them.
    """
    from pipeline.writeback import read_adjustments

    yesterday = f"{day - pd.Timedelta(days=1):%Y-%m-%d}"
    _apply_adjustments(state, read_adjustments(settings.marketing_url, yesterday), day)
    plan_path = settings.out_dir(yesterday) / "replenishment_plan.csv"
    plan = (
        pd.read_csv(plan_path, parse_dates=["order_date"])
        if plan_path.exists()
        else pd.DataFrame(
            columns=["sku", "location_id", "order_date", "order_qty_units"]
        )
    )
    plan = plan[(plan.order_date == day) & (plan.order_qty_units > 0)]
    loc_pos = pd.Index(state.locations.location_id).get_indexer(plan.location_id)
    sku_pos = state.sku_index(plan.sku)
    lead = state.products.lead_time_days.to_numpy()[sku_pos]
    return pd.DataFrame(
        {
            "sku_idx": sku_pos,
            "loc_idx": loc_pos,
            "qty": plan.order_qty_units.astype(float)
            .round()
            .astype("int64")
            .to_numpy(),
            "arrival_date": day + pd.to_timedelta(lead, "D"),
        }
    )


def _apply_adjustments(state: MarketState, adj: pd.DataFrame, day) -> None:
    if adj.empty:
        return
    pauses = adj[adj.action == "pause"]
    paused = state.promotions.promo_id.isin(pauses.promo_id)
    state.promotions.loc[paused, "paused_from"] = day
    shrinks = adj[adj.action == "shrink"].set_index("promo_id").discount_pct
    shrunk = state.promotions.promo_id.isin(shrinks.index)
    state.promotions.loc[shrunk, "discount_pct"] = (
        state.promotions.loc[shrunk, "promo_id"].map(shrinks).astype(float)
    )
    marks = adj[adj.action == "markdown"]
    if not marks.empty:
        new = pd.DataFrame(
            {
                "promo_id": marks.promo_id,
                "sku": marks.sku,
                "category": None,
                "start_date": pd.to_datetime(marks.start_date),
                "end_date": pd.to_datetime(marks.end_date),
                "discount_pct": marks.discount_pct.astype(float),
                "channel": "all",
                "target_segment": marks.target_segment,
                "budget": 0.0,
                "paused_from": pd.NaT,
            }
        )
        keep = ~state.promotions.promo_id.isin(new.promo_id)
        state.promotions = pd.concat([state.promotions[keep], new], ignore_index=True)
