"""What the retailer does today: a reorder point per SKU x location."""

from __future__ import annotations

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
