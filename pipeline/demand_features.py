"""Run the demand feature SQL on any DuckDB connection that holds its inputs.

The warehouse builds the same two models for the daily run; the backtest and
the tests call ``build_demand_features`` on their own connection, whose tables
``mart_demand_daily``, ``stg_products``, ``stg_locations``, ``stg_promotions``
and ``calendar_holidays`` they filled themselves.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.settings import Settings
from pipeline.warehouse import bind_params
from pipeline.warehouse_delta import FULL_SINCE

FEATURE_MODELS = ("marts/mart_demand_stats", "marts/mart_demand_features")


def build_demand_features(
    con, settings: Settings, ds: str, origin_step_days: int, stats: bool = True
) -> None:
    """(Re)create ``mart_demand_stats`` and ``mart_demand_features`` for ``ds``.

    ``stats=False`` reuses an existing ``mart_demand_stats`` (it does not
    depend on ``ds``), which the backtest does for its later origins.
    """
    params = {
        "ds": ds,
        "horizon_days": settings.horizon_days,
        "train_window_days": settings.train_window_days,
        "origin_step_days": origin_step_days,
        "full_origin_days": settings.holdout_days,
        "keep_per_million": 1_000_000,  # every row: backtests read them all
        "since": FULL_SINCE,  # every row (the warehouse's incremental build
        "dirty_skus": [],  # passes the first changed day and SKUs)
    }
    for model in FEATURE_MODELS if stats else FEATURE_MODELS[1:]:
        name = Path(model).name
        sql = (settings.sql_dir / f"{model}.sql").read_text()
        con.execute(
            f"create or replace table {name} as {sql}", bind_params(sql, params)
        )
