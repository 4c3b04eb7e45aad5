"""What the retailer does today: a reorder point per SKU x location."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pandas as pd

from pipeline.market import config as c
from pipeline.market.state import MarketState


def reorder_point_orders(
    state: MarketState, mean_demand: np.ndarray, day: pd.Timestamp, rng, z=1.28
) -> pd.DataFrame:
    """Order up to ROP + a week of demand when the stock position falls below ROP.

    ROP = mean x lead time + z x sqrt(mean x lead time); quantities rounded up to
    case packs and at least the MOQ. Returns the new purchase orders.
    """
    lead = state.products.lead_time_days.to_numpy()[:, None]
    rop = mean_demand * lead + z * np.sqrt(mean_demand * lead)
    on_order, _ = state.on_order()
    position = state.on_hand + on_order
    reviewed = rng.random(position.shape) >= c.MISSED_REVIEW_RATE
    need = np.where(reviewed & (position < rop), rop + 7 * mean_demand - position, 0)
    return _purchase_orders(state, need, lead, day)


def moving_average_orders(
    state: MarketState,
    sales_history: np.ndarray,
    day: pd.Timestamp,
    service_level: float,
    review_days: int = 7,
) -> pd.DataFrame:
    """The retailer's reorder point from its own sales, reviewed every evening.

    ``sales_history`` holds the last days' units sold, shape (days, SKUs,
    locations), typically 28. With mean mu and standard deviation sigma of daily
    sales and lead time L: ROP = mu L + z sigma sqrt(L), z for the service level.
    Below it, order up to ROP + ``review_days`` x mu, rounded up to case packs
    and at least the MOQ. Returns the new purchase orders.
    """
    z = NormalDist().inv_cdf(service_level)
    mu = sales_history.mean(axis=0)
    sigma = sales_history.std(axis=0)
    lead = state.products.lead_time_days.to_numpy()[:, None]
    rop = mu * lead + z * sigma * np.sqrt(lead)
    on_order, _ = state.on_order()
    position = state.on_hand + on_order
    need = np.where(position < rop, rop + review_days * mu - position, 0)
    return _purchase_orders(state, need, lead, day)


def _purchase_orders(
    state: MarketState, need: np.ndarray, lead: np.ndarray, day: pd.Timestamp
) -> pd.DataFrame:
    """Units needed per SKU x location -> orders in whole case packs, at least MOQ."""
    pack = state.products.case_pack.to_numpy()[:, None]
    moq = state.products.moq.to_numpy()[:, None]
    qty = np.where(need > 0, np.maximum(np.ceil(need / pack) * pack, moq), 0)
    s, loc = np.nonzero(qty)
    return pd.DataFrame(
        {
            "sku_idx": s,
            "loc_idx": loc,
            "qty": qty[s, loc].astype(np.int64),
            "arrival_date": day + pd.to_timedelta(lead[s, 0], "D"),
        }
    )
