"""The backtest's data: its own DuckDB history from the landing extracts.

The backtest does not need a daily run over the whole history: it reads the
CSV drops with DuckDB (only the columns it needs), builds the daily demand
grid, and runs the same feature SQL as the warehouse on it. Only the rows a
model trains or is scored on ever reach pandas.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from pipeline import io
from pipeline.demand_features import build_demand_features
from pipeline.settings import Settings
from pipeline.warehouse import bind_params, register_holidays

# Corrections of a day's lines arrive up to three days later.
LATE_EXTRACT_DAYS = 3
# A feature row is keyed by these; sorting on them fixes the row order.
ROW_KEY = ["sku", "location_id", "origin_date", "horizon_day"]


def _days(first: pd.Timestamp, last: pd.Timestamp) -> list[str]:
    return [f"{d:%Y-%m-%d}" for d in pd.date_range(first, last)]


def _run(con, settings: Settings, name: str, params: dict, table: str | None = None):
    sql = (settings.sql_dir / "backtest" / f"{name}.sql").read_text()
    if table:
        con.execute(
            f"create or replace table {table} as {sql}", bind_params(sql, params)
        )
        return None
    return con.execute(sql, bind_params(sql, params)).df()


def open_history(settings: Settings, start: str, end: str):
    """An in-memory DuckDB holding the feature SQL's inputs for ``start..end``.

    Raises ``FileNotFoundError`` naming the folder when a day's drop is missing.
    """
    landing, last = settings.landing, io.read_json(settings.sim_dir / "market.json")
    snapshot = landing / last["last_day"]
    first = pd.Timestamp(start)
    final = min(
        pd.Timestamp(end) + pd.Timedelta(days=LATE_EXTRACT_DAYS),
        pd.Timestamp(last["last_day"]),
    )
    days = _days(first, final)
    missing = [d for d in days if not (landing / d / "orders.csv").exists()]
    if missing:
        raise FileNotFoundError(f"{landing}: no orders.csv for {missing[:3]}...")
    con = duckdb.connect()
    con.execute(f"set threads = {int(settings.duckdb_threads)}")
    con.execute("set memory_limit = $m", {"m": settings.duckdb_memory_limit})
    con.execute("set preserve_insertion_order = false")
    spill = settings.fusion_home / "tmp" / "duckdb"  # out of the working directory
    spill.mkdir(parents=True, exist_ok=True)
    con.execute("set temp_directory = $t", {"t": str(spill)})
    params = {
        "products_csv": str(snapshot / "erp_products.csv"),
        "locations_csv": str(snapshot / "erp_locations.csv"),
        "promotions_jsonl": str(snapshot / "marketing_promotions.jsonl"),
        "orders_glob": [str(landing / d / "orders.csv") for d in days],
        "inventory_glob": [str(landing / d / "erp_inventory.csv") for d in days],
        "start": start,
        "end": end,
    }
    for name, table in [
        ("bt_products", "stg_products"),
        ("bt_locations", "stg_locations"),
        ("bt_promotions", "stg_promotions"),
        ("bt_demand_daily", "mart_demand_daily"),
    ]:
        _run(con, settings, name, params, table)
    register_holidays(con, settings.market_country, pd.Timestamp(end).year)
    return con


def origin_rows(con, settings, origin: str, step: int, max_rows: int, first: bool):
    """``(train, test)`` frames for one forecast origin.

    ``train``: uncensored rows whose target is known at ``origin``, at most
    ``max_rows`` of them (a hash sample, the same whatever the thread count).
    ``test``: the origin's own uncensored rows with a known target.
    """
    build_demand_features(con, settings, origin, origin_step_days=step, stats=first)
    known = (
        "target_units is not null and not target_censored "
        "and target_date <= cast($origin as date)"
    )
    total = con.execute(
        f"select count(*) from mart_demand_features where {known}", {"origin": origin}
    ).fetchone()[0]
    share = min(1.0, max_rows / max(total, 1))
    order = ", ".join(ROW_KEY)
    train = con.execute(
        f"select * from mart_demand_features where {known} "
        "and hash(sku, location_id, origin_date, horizon_day) % 1000000 < $cut "
        f"order by {order}",
        {"origin": origin, "cut": int(share * 1_000_000)},
    ).df()
    test = con.execute(
        "select * from mart_demand_features where origin_date = cast($origin as date) "
        f"and target_units is not null and not target_censored order by {order}",
        {"origin": origin},
    ).df()
    return train, test


def mase_scale(con, settings, origin: str) -> pd.DataFrame:
    """Per series: the 7-day seasonal naive's in-sample MAE up to ``origin``."""
    return _run(con, settings, "bt_mase_scale", {"ds": origin})


def true_expected_demand(settings: Settings, first: str, last: str) -> pd.DataFrame:
    """The simulator's expected units per SKU x location x day, ``first..last``."""
    files = [
        str(settings.truth / f"ds={d}" / "part-0.parquet")
        for d in _days(pd.Timestamp(first), pd.Timestamp(last))
    ]
    with duckdb.connect() as con:
        return _run(con, settings, "bt_truth", {"truth_files": files})
