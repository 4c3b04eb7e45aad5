"""The DuckDB warehouse: ``sql/staging`` then ``sql/marts``, built from the lake.

The warehouse is rebuilt from the lake for each run date into a temporary
file, checkpointed, closed and renamed over ``warehouse.duckdb``: readers never
see a half-built file and a killed build leaves no WAL behind.
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd

from pipeline.faults import crash_point
from pipeline.settings import Settings

# Build order; each file is one query, materialised as a table of its name.
MODELS = (
    "staging/stg_products",
    "staging/stg_locations",
    "staging/stg_customers",
    "staging/stg_promotions",
    "staging/stg_orders",
    "staging/stg_inventory",
    "marts/mart_demand_daily",
    "marts/mart_demand_stats",
    "marts/mart_demand_features",
    "marts/mart_inventory_position",
    "marts/mart_customer_activity",
    "marts/mart_segment_promo_units",
    "marts/mart_promotion_days",
    "marts/mart_promotion_roi",
)


def build_warehouse(settings: Settings, ds: str) -> dict[str, int]:
    """Build every model for run date ``ds``; returns rows per table."""
    target = settings.warehouse
    tmp = target.with_name(f".{target.name}.building")
    for leftover in (tmp, Path(f"{tmp}.wal")):
        leftover.unlink(missing_ok=True)
    params = {
        "ds": ds,
        "lake_clean": str(settings.lake / "clean"),
        "horizon_days": settings.horizon_days,
        "train_window_days": settings.train_window_days,
        "origin_step_days": settings.forecast_origin_step_days,
    }
    rows = {}
    con = _connect(settings, tmp, read_only=False)
    try:
        register_holidays(con, settings.market_country, pd.Timestamp(ds).year)
        for model in MODELS:
            name = Path(model).name
            sql = (settings.sql_dir / f"{model}.sql").read_text()
            con.execute(
                f"create or replace table {name} as {sql}", bind_params(sql, params)
            )
            rows[name] = con.execute(f"select count(*) from {name}").fetchone()[0]
            crash_point("warehouse_build", f"ds={ds}/{name}")
        con.execute("checkpoint")
    finally:
        con.close()
    os.replace(tmp, target)
    return rows


def register_holidays(con, country: str, year: int) -> None:
    """Table ``calendar_holidays(holiday_date)``: public holidays of ``country``.

    Covers three years back and one ahead of ``year`` (history plus horizon).
    """
    import holidays

    days = holidays.country_holidays(country, years=range(year - 3, year + 2))
    frame = pd.DataFrame({"holiday_date": pd.to_datetime(sorted(days))})
    con.register("holiday_frame", frame)
    con.execute(
        "create or replace table calendar_holidays as "
        "select cast(holiday_date as date) as holiday_date from holiday_frame"
    )
    con.unregister("holiday_frame")


def bind_params(sql: str, params: dict) -> dict:
    """The parameters a query names (DuckDB rejects unused ones)."""
    names = set(re.findall(r"\$(\w+)", sql))
    return {k: v for k, v in params.items() if k in names}


def _connect(settings: Settings, path: Path, read_only: bool):
    con = duckdb.connect(str(path), read_only=read_only)
    con.execute(f"set threads = {int(settings.duckdb_threads)}")
    con.execute("set memory_limit = $m", {"m": settings.duckdb_memory_limit})
    return con


@contextmanager
def read_warehouse(settings: Settings):
    """A read-only connection to the warehouse (many readers, no lock fight)."""
    con = _connect(settings, settings.warehouse, read_only=True)
    try:
        yield con
    finally:
        con.close()


def query(settings: Settings, table: str, where: str = "", params=None):
    """Read a table (optionally filtered) as a pandas frame, in a fixed row order.

    DuckDB's scan order is not fixed; sorting makes sums and model training
    repeat bit for bit.
    """
    if table not in {Path(m).name for m in MODELS}:
        raise ValueError(f"unknown table {table!r}")
    with read_warehouse(settings) as con:
        sql = f"select * from {table} {where} order by all"
        return con.execute(sql, params or {}).df()
