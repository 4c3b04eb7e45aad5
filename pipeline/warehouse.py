"""The DuckDB warehouse: ``sql/staging`` then ``sql/marts``, built from the lake.

Each run date's warehouse is built into a temporary file (a copy of the last
one when the build is incremental), checkpointed, closed and renamed over
``warehouse.duckdb``: readers never see a half-built file, a killed build
leaves the previous warehouse (its half-built copy is removed by the next
build), and a re-run of the same date leaves the same rows. The rename is
what makes the build atomic, so its statements commit one by one: inside one
transaction an incremental build on M (a few million feature rows deleted
and inserted over tables of 15-38 million) ran out of DuckDB's 4 GB memory
limit, since DuckDB holds a transaction's changes in memory.

The first build reads the whole lake. Later ones upsert only the new order and
inventory drops and recompute the demand marts only from the first day whose
inputs changed (``pipeline/warehouse_delta.py`` decides; it falls back to a
full build whenever it cannot prove the two agree).
"""

from __future__ import annotations

import math
import os
import re
import shutil
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd

from pipeline import io
from pipeline import warehouse_delta as delta_plan
from pipeline.faults import crash_point
from pipeline.settings import Settings
from pipeline.warehouse_delta import FULL_SINCE, Delta

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


# Incremental builds upsert the new drops into these fact tables by key; the
# day each changed row is about moves ``Delta.since`` back.
UPSERT_KEYS = {
    "stg_orders": (("order_id", "line_no"), "order_date"),
    "stg_inventory": (("snapshot_date", "sku", "location_id"), "snapshot_date"),
}
# ...and recompute these marts where their date is on or after ``since`` or
# their SKU is dirty. Every other table is a snapshot or depends on the run
# date throughout (the year's customer activity, the 90-day promotion ROI,
# today's stock position) and is small: rebuilt whole every day.
RECOMPUTE_DATES = {
    "mart_demand_daily": "sales_date",
    "mart_demand_stats": "sales_date",
    "mart_demand_features": "target_date",
    "mart_segment_promo_units": "order_date",
}


def build_warehouse(settings: Settings, ds: str) -> dict[str, int]:
    """Build every model for run date ``ds``; returns rows per table.

    Writes how it built (full or incremental, and why) to
    ``out/<ds>/warehouse_build.json``.
    """
    target = settings.warehouse
    tmp = target.with_name(f".{target.name}.building")
    for leftover in (tmp, Path(f"{tmp}.wal")):
        leftover.unlink(missing_ok=True)
    delta = delta_plan.plan(settings, ds, target)
    if delta.incremental:
        shutil.copyfile(target, tmp)
    con = _connect(settings, tmp, read_only=False)
    try:
        rows = _build_models(con, settings, ds, delta)
        delta_plan.write_state(con, settings, ds)
        con.execute("checkpoint")
    finally:
        con.close()
    os.replace(tmp, target)
    io.write_json(delta.summary(), settings.out_dir(ds) / "warehouse_build.json")
    return rows


def _build_models(con, settings: Settings, ds: str, delta: Delta) -> dict[str, int]:
    """Staging first (facts upserted when incremental), then the marts."""
    first_order_day = None
    if delta.incremental:
        delta_plan.keep_before(con)
        first_order_day = _first_order_day(con)
    register_holidays(con, settings.market_country, pd.Timestamp(ds).year)
    params = {
        "ds": ds,
        "lake_clean": str(settings.lake / "clean"),
        "horizon_days": settings.horizon_days,
        "train_window_days": settings.train_window_days,
        "origin_step_days": settings.forecast_origin_step_days,
        "full_origin_days": settings.holdout_days,
        "loaded_through": delta.loaded_through,
        "since": FULL_SINCE,
        "dirty_skus": [],
    }
    rows, changed_days = {}, [_next_day(delta.loaded_through)]
    for model in MODELS:
        name = Path(model).name
        if name == "mart_demand_daily":
            params["keep_per_million"] = keep_per_million(con, settings)
            if delta.incremental:
                _plan_marts(con, delta, changed_days, first_order_day)
                params |= {"since": delta.since, "dirty_skus": delta.dirty_skus}
        sql = (settings.sql_dir / f"{model}.sql").read_text()
        if delta.incremental and name in UPSERT_KEYS:
            changed_days.append(_upsert(con, name, sql, params))
        elif _recomputes(settings, delta, name):
            _recompute(con, name, sql, params)
        else:
            _create(con, name, sql, params | _full_marts(name))
        rows[name] = con.execute(f"select count(*) from {name}").fetchall()[0][0]
        crash_point("warehouse_build", f"ds={ds}/{name}")
    return rows


def _plan_marts(con, delta: Delta, changed_days: list, first_order_day) -> None:
    """Set ``delta.since`` and ``dirty_skus``, or leave the marts to a full build."""
    why = delta_plan.grid_change(con)
    if not why and _first_order_day(con) != first_order_day:
        why = "the first order day changed"
    if why:
        delta.reason = f"facts upserted; marts rebuilt whole: {why}"
        return
    days = [f"{pd.Timestamp(d):%Y-%m-%d}" for d in changed_days if d is not None]
    delta.since = min(days)
    delta.dirty_skus = delta_plan.dirty_skus(con)


def _recomputes(settings: Settings, delta: Delta, name: str) -> bool:
    """Whether ``name`` is recomputed in place (else created whole)."""
    if name not in RECOMPUTE_DATES or delta.since == FULL_SINCE:
        return False
    # Origins every n days shift with the run date: every feature row changes.
    return name != "mart_demand_features" or settings.forecast_origin_step_days == 1


def _full_marts(name: str) -> dict:
    """Parameters that make a mart cover everything (a table built whole)."""
    return {"since": FULL_SINCE, "dirty_skus": []} if name in RECOMPUTE_DATES else {}


def _create(con, name: str, sql: str, params: dict) -> None:
    con.execute(f"create or replace table {name} as {sql}", bind_params(sql, params))


def _upsert(con, name: str, sql: str, params: dict):
    """Replace the rows of ``name`` the new drops carry (by key), add the rest;
    returns the earliest day a new or replaced row is about (None: no rows)."""
    keys, day = UPSERT_KEYS[name]
    con.execute(
        f"create or replace temp table new_{name} as {sql}", bind_params(sql, params)
    )
    on = " and ".join(f"t.{k} is not distinct from n.{k}" for k in keys)
    first = con.execute(
        f"select min({day}) from (select {day} from new_{name} union all "
        f"select t.{day} from {name} as t semi join new_{name} as n on {on})"
    ).fetchall()[0][0]
    con.execute(f"delete from {name} as t using new_{name} as n where {on}")
    con.execute(f"insert into {name} from new_{name}")
    return first


def _recompute(con, name: str, sql: str, params: dict) -> None:
    """Delete the rows of ``name`` in the changed region, insert them anew.

    The region is the SQL's own (days from ``$since``, SKUs in
    ``$dirty_skus``); the feature mart also drops origins that left the window.
    """
    region = (
        f"{RECOMPUTE_DATES[name]} >= cast($since as date) "
        "or sku in (select unnest($dirty_skus::varchar[]))"
    )
    if name == "mart_demand_features":
        region += (
            " or origin_date <= cast($ds as date)"
            " - to_days(cast($train_window_days + $horizon_days as integer))"
            # origins that left the full zone keep their sample only
            " or (origin_date < cast($ds as date)"
            " - to_days(cast($full_origin_days as integer))"
            " and hash(sku, location_id, origin_date, horizon_day) % 1000000"
            " >= $keep_per_million)"
        )
    con.execute(f"delete from {name} where {region}", bind_params(region, params))
    con.execute(f"insert into {name} {sql}", bind_params(sql, params))


def keep_per_million(con, settings: Settings) -> int:
    """Rows in a million the feature mart keeps of origins older than the
    holdout: about ``training_read_rows`` over the grid, all on a small market.

    Training samples at most that many rows, so on M (20,000 series x 134
    origins x 14 days, 37.5M rows) the mart would otherwise hold over 30 times
    what training reads. Depends only on the grid and settings, which a full
    build follows, so incremental and full builds keep the same rows.
    """
    products, locations = (
        con.execute(f"select count(*) from {t}").fetchone()[0]
        for t in ("stg_products", "stg_locations")
    )
    series = products * locations
    origins = settings.train_window_days + settings.horizon_days - settings.holdout_days
    older = series * max(origins, 1) * settings.horizon_days
    share = settings.training_read_rows / max(older, 1)
    return min(1_000_000, math.ceil(1_000_000 * share))


def _first_order_day(con):
    return con.execute("select min(order_date) from stg_orders").fetchall()[0][0]


def _next_day(day: str) -> str:
    return f"{pd.Timestamp(day) + pd.Timedelta(days=1):%Y-%m-%d}"


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
