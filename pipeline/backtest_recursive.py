"""Recursive multi-step forecasting: the alternative to the direct model, measured.

A one-step model (horizon day 1, trained on origins every day) forecasts the
day after the origin; its P50 is written into a copy of the history as if it
had been sold, the series' statistics are recomputed, and the same model
forecasts the next day, up to the horizon. The backtest runs it as
``fusionloop_recursive`` beside the direct model on the same rows, so the
choice between them is a measurement (``bench/forecast_choices.py``).
"""

from __future__ import annotations

import pandas as pd

from models import demand
from pipeline import backtest_data as data
from pipeline.demand_features import build_demand_features
from pipeline.settings import Settings

# The feature SQL's inputs other than the daily grid, copied as they are.
STATIC_TABLES = ("stg_products", "stg_locations", "stg_promotions", "calendar_holidays")
KEY = ["sku", "location_id", "target_date"]


def fit_one_step(con, settings: Settings, origin: str, config):
    """A model of the next day only, on origins every day of the train window."""
    one_step = settings.replace(horizon_days=1)
    train, _ = data.origin_rows(
        con, one_step, origin, 1, config.max_training_rows, first=False
    )
    return demand.fit(train, config)


def _history_copy(con, origin: str):
    """A cursor on a new in-memory catalogue holding the feature inputs and the
    daily grid up to ``origin`` (units as doubles, so forecasts can be added)."""
    name = f"recursive_{origin.replace('-', '')}"
    sim = con.cursor()
    sim.execute(f"attach ':memory:' as {name}")
    for table in STATIC_TABLES:
        sim.execute(f"create table {name}.{table} as select * from memory.{table}")
    sim.execute(
        f"create table {name}.mart_demand_daily as select sku, location_id, "
        "sales_date, cast(units_sold as double) as units_sold, stockout "
        "from memory.mart_demand_daily where sales_date <= cast($o as date)",
        {"o": origin},
    )
    sim.execute(f"use {name}")
    return sim, name


def forecast(con, settings: Settings, model, origin: str, horizon: int):
    """P50 and P90 for days 1..``horizon`` after ``origin``, each day's features
    built from a history that holds the forecasts of the days before it.

    Returns ``sku, location_id, target_date, p50_units, p90_units``.
    """
    sim, name = _history_copy(con, origin)
    one_day = settings.replace(horizon_days=1, train_window_days=0)
    parts = []
    for step in range(horizon):
        ds = f"{pd.Timestamp(origin) + pd.Timedelta(days=step):%Y-%m-%d}"
        build_demand_features(sim, one_day, ds, origin_step_days=1)
        rows = sim.execute(
            "select * from mart_demand_features order by sku, location_id"
        ).df()
        pred = demand.predict(model, rows)
        day = rows[KEY].assign(p50_units=pred.p50_units, p90_units=pred.p90_units)
        sim.register("day_frame", day)
        sim.execute(
            "insert into mart_demand_daily select sku, location_id, target_date, "
            "p50_units, false from day_frame"
        )
        parts.append(day)
    sim.execute("use memory")
    sim.execute(f"detach {name}")
    sim.close()
    return pd.concat(parts, ignore_index=True)
