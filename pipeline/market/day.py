"""One simulated day: expected demand, sales censored by stock, order lines."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import poisson

from pipeline.market import config as c
from pipeline.market.state import MarketState


def expected_demand(state: MarketState, day: pd.Timestamp) -> np.ndarray:
    """True expected units per SKU x location on ``day`` (what no forecast beats)."""
    p, loc = state.products, state.locations
    t_years = (day - state.start).days / 365.0
    weekly = [0.9, 0.85, 0.9, 0.95, 1.1, 1.35, 1.2][day.dayofweek]
    yearly = 1.0 + 0.25 * np.cos(2 * np.pi * (day.dayofyear - 355) / 365.25)
    trend = np.clip(1.0 + p.trend_per_year.to_numpy() * t_years, 0.3, None)
    sku_rate = p.base_rate.to_numpy() * trend * _promo_multiplier(state, day)
    return np.outer(sku_rate, loc.demand_scale.to_numpy()) * weekly * yearly


def _promo_multiplier(state: MarketState, day: pd.Timestamp) -> np.ndarray:
    """Price elasticity of the discount times the targeted segment's response."""
    mult = np.ones(len(state.products))
    active = state.active_promotions(day)
    if active.empty:
        return mult
    idx = state.sku_index(active.sku)
    elasticity = state.products.elasticity.to_numpy()[idx]
    seg = active.target_segment.map(c.SEGMENTS.index).to_numpy()
    response = np.asarray(c.SEGMENT_RESPONSE)[seg]
    disc = active.discount_pct.to_numpy()
    lift = (1 - disc) ** (-elasticity) * (1 + response * disc * 3)
    np.maximum.at(mult, idx, lift)
    return mult


def draw_demand(lam: np.ndarray, rng) -> np.ndarray:
    """Units customers want per SKU x location: overdispersed Poisson around ``lam``.

    Common random numbers: every cell takes a gamma factor and a uniform from
    the day's generator whatever ``lam`` is, and its units are the Poisson
    inverse CDF at that uniform. A promotion that raises one cell's ``lam``
    raises its units monotonically and leaves every other draw as it was, so
    policies that change promotions still face the same demand luck. These
    are the day's first draws, so a perfect-foresight policy can replay them.
    """
    shape = c.DEMAND_GAMMA_SHAPE
    mean = lam * rng.gamma(shape, 1 / shape, lam.shape)
    uniform = rng.random(lam.shape)
    units = poisson.ppf(uniform, np.where(mean > 0, mean, 1.0))
    return np.where(mean > 0, units, 0).astype(np.int64)


def realise_sales(state: MarketState, lam: np.ndarray, rng) -> np.ndarray:
    """Draw demand (overdispersed Poisson) and censor it by stock on hand."""
    return sell(state, draw_demand(lam, rng))


def sell(state: MarketState, demand: np.ndarray) -> np.ndarray:
    """Sell what stock allows; returns the units sold (the rest is lost)."""
    sales = np.minimum(demand, state.on_hand)
    state.on_hand -= sales
    return sales


def order_lines(state, sales: np.ndarray, day: pd.Timestamp, rng) -> pd.DataFrame:
    """Split each cell's units into order lines with customers, prices, promos."""
    s_idx, l_idx = np.nonzero(sales)
    q = sales[s_idx, l_idx]
    n = 1 + rng.binomial(q - 1, 0.5)
    cell = np.repeat(np.arange(len(q)), n)
    qty = np.ones(len(cell), dtype=np.int64)
    first = np.concatenate([[0], np.cumsum(n)[:-1]])
    qty[first] += q - n
    sku_i, loc_i = s_idx[cell], l_idx[cell]
    promo = state.promo_by_sku(day)
    promo_id = promo.promo_id.reindex(sku_i).to_numpy()
    disc = promo.discount_pct.reindex(sku_i).fillna(0.0).to_numpy()
    target = promo.target_segment.reindex(sku_i).to_numpy()
    region = state.locations.region.to_numpy()[loc_i]
    cust = _pick_customers(state, region, target, rng)
    order_no, line_no = _group_orders(loc_i, rng)
    status = rng.choice(
        ["completed", "returned", "cancelled"],
        len(cell),
        p=[1 - c.RETURN_RATE - c.CANCEL_RATE, c.RETURN_RATE, c.CANCEL_RATE],
    )
    seconds = rng.integers(8 * 3600, 22 * 3600, len(cell))
    lines = pd.DataFrame(
        {
            "order_id": np.char.add(
                f"O{day:%Y%m%d}-", np.char.zfill(order_no.astype(str), 6)
            ).astype(object),
            "line_no": line_no,
            "order_ts": day + pd.to_timedelta(seconds, "s"),
            "customer_id": state.customers.customer_id.to_numpy()[cust],
            "sku": state.products.sku.to_numpy()[sku_i],
            "location_id": state.locations.location_id.to_numpy()[loc_i],
            "channel": rng.choice(c.CHANNELS, len(cell), p=c.CHANNEL_SHARE),
            "qty": qty,
            "unit_price": state.products.list_price.to_numpy()[sku_i],
            "discount_pct": disc,
            "promo_id": promo_id,
            "status": status,
        }
    )
    # One customer per order: the first line's.
    lines["customer_id"] = lines.groupby("order_id").customer_id.transform("first")
    return lines


def _group_orders(loc_i: np.ndarray, rng):
    """Consecutive lines at one location form orders of one to a few lines."""
    order = np.argsort(loc_i, kind="stable")
    loc_sorted = loc_i[order]
    brk = (rng.random(len(loc_i)) < 0.6) | np.r_[
        True, loc_sorted[1:] != loc_sorted[:-1]
    ]
    order_sorted = np.cumsum(brk) - 1
    pos = np.arange(len(loc_i)) - np.maximum.accumulate(
        np.where(brk, np.arange(len(brk)), 0)
    )
    order_no = np.empty_like(order_sorted)
    line_no = np.empty_like(order_sorted)
    order_no[order], line_no[order] = order_sorted, pos + 1
    return order_no, line_no


def _pick_customers(state, region, target, rng) -> np.ndarray:
    """Customers of the store's region; a promotion draws its target segment."""
    cust = state.customers
    seg = cust.segment_idx.to_numpy()
    base_w = np.asarray(c.SEGMENT_PROPENSITY)[seg]
    out = np.empty(len(region), dtype=np.int64)
    keys = pd.Series(region).str.cat(pd.Series(target).fillna("-"), sep="|")
    regions = cust.region.to_numpy()
    pools = {reg: np.flatnonzero(regions == reg) for reg in set(region)}
    for key, rows in keys.groupby(keys).groups.items():
        reg, tgt = key.split("|")
        pool = pools[reg]
        w = base_w[pool].copy()
        if tgt != "-":
            boost = 1 + 3 * np.asarray(c.SEGMENT_RESPONSE)[c.SEGMENTS.index(tgt)]
            w[seg[pool] == c.SEGMENTS.index(tgt)] *= boost
        out[np.asarray(rows)] = rng.choice(pool, len(rows), p=w / w.sum())
    return out
