"""``fusionloop backtest --landing DIR --horizon N``: the forecast on any landing.

An imported landing (``fusionloop import``) has no simulator behind it, so no
true demand and no market file: this backtest holds back the last ``N``
periods of the landing's own sales, fits FusionLoop's LightGBM model on what
was known before them, and scores it next to two baselines on the same rows:

- seasonal naive: the same period one season earlier (7 days at day grain,
  52 weeks at week grain), the latest such period known at the origin;
- moving average: the mean of the last ``N`` periods before the origin.

Weekly landings put each week's sales on its first day; the daily model then
forecasts every day and its forecast is summed per week, so every model is
scored on whole weeks. WAPE = sum |actual - forecast| / sum actual.
"""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from models import demand
from pipeline import backtest_data, io
from pipeline.importer import MANIFEST
from pipeline.settings import Settings
from pipeline.warehouse import bind_params, register_holidays

PERIOD_DAYS = {"day": 1, "week": 7}
SEASON_DAYS = {"day": 7, "week": 364}  # seasonal naive: 7 days, 52 weeks
KEY = ["sku", "location_id"]


def landing_facts(landing: Path) -> dict:
    """Grain, last day and whether inventory was exported, from the manifest.

    A landing without ``import.json`` (the demo market's) is daily with
    exported inventory.
    """
    path = Path(landing) / MANIFEST
    days = sorted(p.parent.name for p in Path(landing).glob("*/orders.csv"))
    if not days:
        raise FileNotFoundError(f"{landing}: no <day>/orders.csv; import first")
    manifest = io.read_json(path) if path.exists() else {}
    return {
        "grain": manifest.get("grain", "day"),
        "first_day": days[0],
        "last_day": manifest.get("last_day", days[-1]),
        "inventory_exported": "erp_inventory"
        in manifest.get("mapped_sources", ["erp_inventory"]),
        "order_days": days,
    }


def open_landing(settings: Settings, landing: Path, facts: dict):
    """An in-memory DuckDB with the feature SQL's inputs, from ``landing``.

    Without exported inventory the import's zero-stock snapshot is not read:
    it is an assumption for the plan, not an observed stock-out.
    """
    landing, last = Path(landing), facts["last_day"]
    inventory = sorted(str(p) for p in landing.glob("*/erp_inventory.csv"))
    if not facts["inventory_exported"] or not inventory:
        inventory = [str(_empty_inventory(settings))]
    params = {
        "products_csv": str(landing / last / "erp_products.csv"),
        "locations_csv": str(landing / last / "erp_locations.csv"),
        "promotions_jsonl": str(landing / last / "marketing_promotions.jsonl"),
        "orders_glob": [str(landing / d / "orders.csv") for d in facts["order_days"]],
        "inventory_glob": inventory,
        "start": facts["first_day"],
        "end": last,
    }
    con = duckdb.connect()
    con.execute(f"set threads = {int(settings.duckdb_threads)}")
    con.execute("set memory_limit = $m", {"m": settings.duckdb_memory_limit})
    for name, table in [
        ("bt_products", "stg_products"),
        ("bt_locations", "stg_locations"),
        ("bt_promotions", "stg_promotions"),
        ("bt_demand_daily", "mart_demand_daily"),
    ]:
        sql = (settings.sql_dir / "backtest" / f"{name}.sql").read_text()
        con.execute(
            f"create or replace table {table} as {sql}", bind_params(sql, params)
        )
    register_holidays(con, settings.market_country, pd.Timestamp(last).year)
    return con


def _empty_inventory(settings: Settings) -> Path:
    header = "snapshot_date,sku,location_id,on_hand,on_order,on_order_arrival\n"
    return io.write_text(header, settings.fusion_home / "tmp" / "no_inventory.csv")


def backtest_landing(settings: Settings, landing: Path, horizon: int) -> dict:
    """FusionLoop vs seasonal naive vs moving average on the last ``horizon``
    periods of ``landing``; returns the results dict (WAPE per model)."""
    facts = landing_facts(landing)
    grain, step = facts["grain"], PERIOD_DAYS[facts["grain"]]
    origin = pd.Timestamp(facts["last_day"]) - pd.Timedelta(days=horizon * step)
    settings = settings.replace(horizon_days=horizon * step)
    con = open_landing(settings, landing, facts)
    try:
        train, test = backtest_data.origin_rows(
            con, settings, f"{origin:%Y-%m-%d}", 1, settings.max_training_rows, True
        )
        daily = con.execute("select * from mart_demand_daily").df()
    finally:
        con.close()
    if train.empty or test.empty:
        raise ValueError(
            f"{landing}: too little history before {origin:%Y-%m-%d} to train and "
            f"score (train rows {len(train)}, test rows {len(test)}); use a "
            "shorter --horizon or a longer export"
        )
    config = demand.DemandModelConfig(
        seed=settings.seed, max_training_rows=settings.max_training_rows
    )
    test["fusionloop"] = demand.predict(demand.fit(train, config), test).p50_units
    test = test.join(baselines(daily, test, origin, grain, horizon))
    scored = per_period(test, origin, step)
    models = ["fusionloop", "seasonal_naive", "moving_average"]
    return {
        "landing": str(landing),
        "grain": grain,
        "horizon_periods": horizon,
        "origin": f"{origin:%Y-%m-%d}",
        "history": [facts["first_day"], facts["last_day"]],
        "series": int(scored.groupby(KEY).ngroups),
        "scored_rows": int(len(scored)),
        "actual_units": float(scored.target_units.sum()),
        "wape": {m: round(wape(scored.target_units, scored[m]), 4) for m in models},
    }


def baselines(daily, test, origin, grain: str, horizon: int) -> pd.DataFrame:
    """Seasonal naive and moving average for every test row (units per day)."""
    step, season = PERIOD_DAYS[grain], SEASON_DAYS[grain]
    sales = daily.set_index([*KEY, "sales_date"]).units_sold
    days_ahead = (test.target_date - origin).dt.days
    lag = days_ahead.map(lambda d: season * math.ceil(d / season))
    back = pd.MultiIndex.from_arrays(
        [test.sku, test.location_id, test.target_date - pd.to_timedelta(lag, "D")]
    )
    naive = sales.reindex(back).fillna(0.0).to_numpy()
    window = daily[
        (daily.sales_date <= origin)
        & (daily.sales_date > origin - pd.Timedelta(days=horizon * step))
    ]
    mean = window.groupby(KEY).units_sold.mean().rename("moving_average")
    moving = test[KEY].merge(mean.reset_index(), on=KEY, how="left")
    return pd.DataFrame(
        {
            "seasonal_naive": naive,
            "moving_average": moving.moving_average.fillna(0.0).to_numpy(),
        },
        index=test.index,
    )


def per_period(test: pd.DataFrame, origin, step: int) -> pd.DataFrame:
    """Test rows summed per series and period (a week = 7 days from the origin)."""
    period = ((test.target_date - origin).dt.days - 1) // step
    columns = ["target_units", "fusionloop", "seasonal_naive", "moving_average"]
    return test.assign(period=period).groupby([*KEY, "period"])[columns].sum()


def wape(actual, forecast) -> float:
    """Sum of absolute errors over the sum of actuals (0 when nothing sold)."""
    actual, forecast = np.asarray(actual, float), np.asarray(forecast, float)
    total = actual.sum()
    return float(np.abs(actual - forecast).sum() / total) if total > 0 else 0.0


def format_landing_results(results: dict) -> str:
    """The three models' WAPE as a markdown table."""
    head = (
        f"backtest of {results['landing']}: last {results['horizon_periods']} "
        f"{results['grain']}s after {results['origin']}, {results['series']} "
        f"series, {results['scored_rows']} series-{results['grain']}s scored"
    )
    rows = [f"| {m} | {w:.3f} |" for m, w in results["wape"].items()]
    return "\n".join([head, "", "| model | WAPE |", "| --- | ---: |", *rows])
