"""What changed since the warehouse was last built: the incremental build's plan.

A daily run adds one day of drops to a history of hundreds. Instead of
rebuilding every table from the whole lake, the build upserts the new order
and inventory drops into ``stg_orders``/``stg_inventory`` and recomputes the
demand marts only where their inputs changed: from the first day whose sales
or stock changed (``since``) on, and the whole history of the SKUs whose
promotions changed (``dirty_skus``). The warehouse records what it was built
from (``warehouse_state``, ``warehouse_drops``); when that is not a prefix of
today's lake (a re-validated old drop, a run date before the last one, other
settings or SQL), or the products, locations or holidays changed, the build
is a full one. Both kinds leave the same rows
(``tests/pipeline/test_warehouse_incremental.py``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from pipeline.settings import Settings

# The first day any build could need: a full build's $since and $loaded_through.
FULL_SINCE = "1900-01-01"
# Sources whose drops accumulate into facts (upserted); the others are
# snapshots, and their latest drop is read whole every day.
FACT_SOURCES = ("orders", "erp_inventory")
# Snapshot tables whose change invalidates every mart row (keys of the grid,
# prices, regions, the holiday calendar).
GRID_TABLES = ("stg_products", "stg_locations", "calendar_holidays")


@dataclass
class Delta:
    """How to build: ``loaded_through`` the last day in the warehouse already
    (``FULL_SINCE``: nothing, a full build), and for the marts the first day to
    recompute and the SKUs to recompute whole."""

    loaded_through: str = FULL_SINCE
    reason: str = "no warehouse yet"
    since: str = FULL_SINCE
    dirty_skus: list[str] = field(default_factory=list)

    @property
    def incremental(self) -> bool:
        return self.loaded_through != FULL_SINCE

    def summary(self) -> dict:
        """What the build did, for ``out/<ds>/warehouse_build.json``."""
        return {
            "mode": "incremental" if self.incremental else "full",
            "reason": self.reason,
            "loaded_through": None if not self.incremental else self.loaded_through,
            "marts_since": self.since,
            "dirty_skus": len(self.dirty_skus),
        }


def build_key(settings: Settings) -> str:
    """A digest of what the tables' contents depend on besides the lake: the
    SQL text and the settings the SQL reads. A change means a full build."""
    parts = [
        str(settings.horizon_days),
        str(settings.train_window_days),
        str(settings.forecast_origin_step_days),
        str(settings.holdout_days),
        str(settings.training_read_rows),
        settings.market_country,
    ]
    parts += [p.read_text() for p in sorted(settings.sql_dir.glob("[sm]*/*.sql"))]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def lake_drops(settings: Settings, ds: str) -> pd.DataFrame:
    """``source, drop_ds, file_bytes``: the clean fact drops up to ``ds``.

    File sizes stand for contents: a re-validated drop is rewritten, and the
    same rows give the same bytes (so two homes with the same lake agree).
    """
    rows = [
        (source, path.parent.name[3:], path.stat().st_size)
        for source in FACT_SOURCES
        for path in (settings.lake / "clean" / source).glob("ds=*/*.parquet")
        if path.parent.name[3:] <= ds
    ]
    frame = pd.DataFrame(rows, columns=["source", "drop_ds", "file_bytes"])
    return frame.sort_values(["source", "drop_ds", "file_bytes"], ignore_index=True)


def plan(settings: Settings, ds: str, warehouse: Path) -> Delta:
    """Whether the staging facts can be upserted, from the last build's state."""
    if not warehouse.exists():
        return Delta()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = {t for (t,) in con.execute("show tables").fetchall()}
        if not {"warehouse_state", "warehouse_drops"} <= tables:
            return Delta(reason="the warehouse records no build state")
        last_ds, key = con.execute(
            "select ds, build_key from warehouse_state"
        ).fetchall()[0]
        loaded = con.execute("from warehouse_drops order by all").df()
    last_ds = f"{pd.Timestamp(last_ds):%Y-%m-%d}"
    if key != build_key(settings):
        return Delta(reason="settings or SQL changed since the last build")
    if last_ds > ds:
        return Delta(reason=f"the warehouse holds a later day ({last_ds})")
    current = lake_drops(settings, last_ds)
    if not current.equals(loaded.astype(current.dtypes.to_dict())):
        return Delta(reason=f"drops up to {last_ds} changed since they were loaded")
    return Delta(loaded_through=last_ds, reason="new drops only")


def keep_before(con, tables=("stg_promotions", *GRID_TABLES)) -> None:
    """Copy the snapshot tables as temp ``before_<name>``, to compare after."""
    for table in tables:
        con.execute(f"create or replace temp table before_{table} as from {table}")


def changed(con, table: str) -> bool:
    """Whether ``table`` differs from its ``before_`` copy (rows, either way)."""
    diff = (
        f"select count(*) from ((from {table} except all from before_{table}) "
        f"union all (from before_{table} except all from {table}))"
    )
    return con.execute(diff).fetchall()[0][0] > 0


def grid_change(con) -> str:
    """Why every mart row may have changed ('' if nothing did)."""
    for table in GRID_TABLES:
        if changed(con, table):
            return f"{table} changed"
    return ""


def dirty_skus(con) -> list[str]:
    """SKUs whose promotions changed, and those of lines carrying such a promotion.

    A promotion's rows set the promotion features of every day it covers, and
    its segment the segment units of every line that carries it.
    """
    rows = con.execute(
        """
        with changed as (
            (from stg_promotions except all from before_stg_promotions)
            union all (from before_stg_promotions except all from stg_promotions)
        )
        select sku from changed where sku is not null
        union
        select distinct sku from stg_orders
        where promo_id in (select promo_id from changed)
        order by 1
        """
    ).fetchall()
    return [sku for (sku,) in rows]


def write_state(con, settings: Settings, ds: str) -> None:
    """Record the run date, build key and fact drops the warehouse now holds."""
    con.execute(
        "create or replace table warehouse_state as "
        "select cast($ds as date) as ds, $key as build_key",
        {"ds": ds, "key": build_key(settings)},
    )
    drops = lake_drops(settings, ds)
    con.register("drops_frame", drops)
    con.execute("create or replace table warehouse_drops as from drops_frame")
    con.unregister("drops_frame")
