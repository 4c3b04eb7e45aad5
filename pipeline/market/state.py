"""The market's state between days, saved under ``<FUSION_HOME>/sim/``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import io

_FRAMES = (
    "products",
    "locations",
    "customers",
    "promotions",
    "purchase_orders",
    "pending",
)


@dataclass
class MarketState:
    """Master data, stock on hand, open purchase orders and held-back lines."""

    seed: int
    size: str
    start: pd.Timestamp
    last_day: pd.Timestamp
    products: pd.DataFrame
    locations: pd.DataFrame
    customers: pd.DataFrame
    promotions: pd.DataFrame
    on_hand: np.ndarray  # units, shape (skus, locations)
    purchase_orders: pd.DataFrame  # sku_idx, loc_idx, qty, arrival_date
    pending: pd.DataFrame  # order lines released to a later extract

    def sku_index(self, skus) -> np.ndarray:
        """Row positions of the given SKU codes in ``products``."""
        pos = pd.Index(self.products.sku).get_indexer(skus)
        return np.asarray(pos)

    def active_promotions(self, day: pd.Timestamp) -> pd.DataFrame:
        """Promotions running on ``day`` and not paused by the pipeline."""
        p = self.promotions
        live = (p.start_date <= day) & (p.end_date >= day)
        live &= p.paused_from.isna() | (p.paused_from > day)
        return p[live & p.sku.notna()]

    def promo_by_sku(self, day: pd.Timestamp) -> pd.DataFrame:
        """The deepest active promotion per SKU, indexed by SKU position."""
        active = self.active_promotions(day).sort_values("discount_pct")
        active = active.assign(sku_idx=self.sku_index(active.sku))
        return active.drop_duplicates("sku_idx", keep="last").set_index("sku_idx")

    def on_order(self) -> tuple[np.ndarray, np.ndarray]:
        """Open PO units and earliest arrival date per SKU x location."""
        units = np.zeros_like(self.on_hand)
        first = np.full(self.on_hand.shape, np.datetime64("NaT"), "datetime64[ns]")
        po = self.purchase_orders
        if not po.empty:
            np.add.at(units, (po.sku_idx, po.loc_idx), po.qty)
            g = po.groupby(["sku_idx", "loc_idx"]).arrival_date.min()
            skus, locs = zip(*g.index, strict=True)
            first[list(skus), list(locs)] = g.to_numpy()
        return units, first

    def receive(self, day: pd.Timestamp) -> None:
        """Purchase orders due on ``day`` arrive and raise stock on hand."""
        po = self.purchase_orders
        due = po.arrival_date <= day
        np.add.at(self.on_hand, (po.sku_idx[due], po.loc_idx[due]), po.qty[due])
        self.purchase_orders = po[~due].reset_index(drop=True)

    def save(self, folder: Path) -> None:
        """Write the whole state atomically: into a new folder swapped in at once,
        so a stop mid-save leaves the last day's state whole, never half of each."""

        def write(tmp: Path) -> None:
            for name in _FRAMES:
                io.write_parquet(getattr(self, name), tmp / f"{name}.parquet")
            io.write_parquet(
                pd.DataFrame({"on_hand": self.on_hand.ravel()}), tmp / "on_hand.parquet"
            )
            meta = {
                "seed": self.seed,
                "size": self.size,
                "start": f"{self.start:%Y-%m-%d}",
                "last_day": f"{self.last_day:%Y-%m-%d}",
            }
            io.write_json(meta, tmp / "market.json")

        io.replace_dir(write, folder)

    @classmethod
    def load(cls, folder: Path) -> MarketState:
        """Read a state written by ``save``."""
        meta = io.read_json(folder / "market.json")
        frames = {n: pd.read_parquet(folder / f"{n}.parquet") for n in _FRAMES}
        shape = (len(frames["products"]), len(frames["locations"]))
        flat = pd.read_parquet(folder / "on_hand.parquet").on_hand.to_numpy()
        return cls(
            seed=meta["seed"],
            size=meta["size"],
            start=pd.Timestamp(meta["start"]),
            last_day=pd.Timestamp(meta["last_day"]),
            on_hand=flat.reshape(shape).copy(),
            **frames,
        )
