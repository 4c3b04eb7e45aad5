"""What a simulated day was worth, in money and service, per policy."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.service import lost_sale_eur
from pipeline.market.state import MarketState

DAY_COLUMNS = [
    "date",
    "demand_units",
    "sold_units",
    "revenue_eur",
    "gross_margin_eur",
    "cogs_eur",
    "holding_cost_eur",
    "lost_sales_cost_eur",
    "ordering_cost_eur",
    "total_cost_eur",
    "markdown_spend_eur",
    "stockout_days",
    "inventory_value_eur",
    "order_lines",
]


def day_kpis(
    state: MarketState, day, facts: dict, order_cost_eur: float, goodwill_pct: float
) -> dict:
    """KPIs of one day from its demand, sales and orders (``simulate_day``'s facts).

    Lost sales are priced like the optimiser prices them (margin plus goodwill
    as a share of list price); holding cost is on the stock left at the end of
    the day; markdown spend is the discount given on units sold on promotion;
    a stock-out day is one SKU x location whose demand went partly unserved.
    Total cost = holding + lost sales + ordering.
    """
    p, loc = state.products, state.locations
    price = p.list_price.to_numpy()[:, None]
    cost = p.unit_cost.to_numpy()[:, None]
    disc = np.zeros(len(p))
    promo = state.promo_by_sku(day)
    disc[promo.index.to_numpy()] = promo.discount_pct.to_numpy()
    sales, demand = facts["sales"], facts["demand"]
    revenue = (sales * price * (1 - disc[:, None])).sum()
    cogs = (sales * cost).sum()
    lost_eur = lost_sale_eur(
        pd.DataFrame({"list_price_eur": p.list_price, "unit_cost_eur": p.unit_cost}),
        goodwill_pct,
    )[:, None]
    holding = (state.on_hand * loc.holding_cost_per_unit_day.to_numpy()[None, :]).sum()
    lost = ((demand - sales) * lost_eur).sum()
    ordering = order_cost_eur * len(facts["orders"])
    return {
        "date": f"{day:%Y-%m-%d}",
        "demand_units": int(demand.sum()),
        "sold_units": int(sales.sum()),
        "revenue_eur": float(revenue),
        "gross_margin_eur": float(revenue - cogs),
        "cogs_eur": float(cogs),
        "holding_cost_eur": float(holding),
        "lost_sales_cost_eur": float(lost),
        "ordering_cost_eur": float(ordering),
        "total_cost_eur": float(holding + lost + ordering),
        "markdown_spend_eur": float((sales * price * disc[:, None]).sum()),
        "stockout_days": int((demand > sales).sum()),
        "inventory_value_eur": float((state.on_hand * cost).sum()),
        "order_lines": int(len(facts["orders"])),
    }


def totals(daily: pd.DataFrame) -> dict:
    """The run's totals: sums in EUR and units, fill rate and annualised turns.

    Fill rate = units sold / units demanded; inventory turns = cost of goods
    sold per year / mean inventory value at cost.
    """
    sums = daily.drop(columns="date").sum()
    days = len(daily)
    mean_stock = daily.inventory_value_eur.mean()
    out = {k: round(float(sums[k]), 2) for k in DAY_COLUMNS[3:12]}
    out.update(
        days=days,
        demand_units=int(sums.demand_units),
        sold_units=int(sums.sold_units),
        stockout_days=int(sums.stockout_days),
        order_lines=int(sums.order_lines),
        fill_rate=round(float(sums.sold_units / max(sums.demand_units, 1)), 4),
        inventory_turns=round(
            float(sums.cogs_eur / days * 365 / mean_stock) if mean_stock else 0.0, 2
        ),
    )
    return out
