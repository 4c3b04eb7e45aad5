"""What the source systems export each day: the six files of the contract."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline import io
from pipeline.market import config as c
from pipeline.market.state import MarketState


def release_lines(state: MarketState, lines: pd.DataFrame, day, rng) -> pd.DataFrame:
    """Hold some lines back a day, queue corrections, return today's order extract."""
    late = rng.random(len(lines)) < c.LATE_LINE_RATE
    fix = (rng.random(len(lines)) < c.CORRECTION_RATE) & (lines.status == "completed")
    corrected = lines[fix.to_numpy()].assign(status="returned")
    later = pd.concat(
        [
            lines[late].assign(release_date=day + pd.Timedelta(days=1)),
            corrected.assign(
                release_date=day
                + pd.to_timedelta(rng.integers(1, 4, len(corrected)), "D")
            ),
        ]
    )
    pending = pd.concat([state.pending, later], ignore_index=True)
    due = pending.release_date <= day
    state.pending = pending[~due].reset_index(drop=True)
    today = pd.concat([lines[~late], pending[due].drop(columns="release_date")])
    return today.reset_index(drop=True)


def add_dirty_rows(orders: pd.DataFrame, rate: float, rng) -> pd.DataFrame:
    """Corrupt about ``rate`` of the rows the way real extracts go wrong."""
    out = orders.astype({"qty": object, "unit_price": object, "status": object})
    k = int(round(rate * len(out)))
    if k == 0:
        return out
    rows = rng.choice(len(out), k, replace=False)
    kinds = rows % 5
    out.loc[rows[kinds == 0], "qty"] = -1
    out.loc[rows[kinds == 1], "status"] = "unknown"
    out.loc[rows[kinds == 2], "sku"] = None
    out.loc[rows[kinds == 3], "unit_price"] = "n/a"
    dupes = out.iloc[rows[kinds == 4]]
    return pd.concat([out, dupes], ignore_index=True)


def inventory_snapshot(state: MarketState, day: pd.Timestamp) -> pd.DataFrame:
    """End-of-day stock and open purchase orders per SKU x location."""
    on_order, first = state.on_order()
    s, loc = np.indices(state.on_hand.shape)
    return pd.DataFrame(
        {
            "snapshot_date": day,
            "sku": state.products.sku.to_numpy()[s.ravel()],
            "location_id": state.locations.location_id.to_numpy()[loc.ravel()],
            "on_hand": state.on_hand.ravel(),
            "on_order": on_order.ravel(),
            "on_order_arrival": first.ravel(),
        }
    )


def promotions_snapshot(state: MarketState, day: pd.Timestamp) -> pd.DataFrame:
    """Marketing's calendar as of ``day``, with each promotion's status."""
    p = state.promotions
    status = np.select(
        [
            p.paused_from.notna() & (p.paused_from <= day),
            p.start_date > day,
            p.end_date < day,
        ],
        ["paused", "planned", "ended"],
        "active",
    )
    out = p.drop(columns="paused_from").assign(status=status)
    for col in ("start_date", "end_date"):
        out[col] = out[col].dt.strftime("%Y-%m-%d")
    return out


def write_day(folder, state, day, orders, inventory, snapshots: bool) -> None:
    """Write the day's extracts into ``landing/<ds>/`` (snapshots when asked)."""
    io.write_csv(orders, folder / "orders.csv")
    io.write_csv(inventory, folder / "erp_inventory.csv")
    if not snapshots:
        return
    p, loc, cust = state.products, state.locations, state.customers
    io.write_csv(
        p.drop(columns=["base_rate", "elasticity", "trend_per_year"]),
        folder / "erp_products.csv",
    )
    io.write_csv(loc.drop(columns="demand_scale"), folder / "erp_locations.csv")
    io.write_csv(cust.drop(columns="segment_idx"), folder / "crm_customers.csv")
    promos = promotions_snapshot(state, day)
    io.write_text(
        promos.to_json(orient="records", lines=True),
        folder / "marketing_promotions.jsonl",
    )
