"""Train the demand model, score it on held-back days, forecast the horizon."""

from __future__ import annotations

import pandas as pd

from models import demand
from pipeline import io
from pipeline.settings import Settings
from pipeline.warehouse import query


def train_demand_model(settings: Settings, ds: str) -> dict:
    """Backtest on the last ``horizon_days`` days, then refit on all; returns metrics.

    Days whose sales a stock-out censored are left out of training and scoring
    (their true demand is unknown). The model is saved as ``registry/<ds>/``.
    """
    rows = query(settings, "mart_demand_features", "where target_units is not null")
    rows = rows[~rows.target_censored.astype(bool)]
    config = demand.DemandModelConfig(seed=settings.seed)
    origin = pd.Timestamp(ds) - pd.Timedelta(days=settings.holdout_days)
    held = rows[rows.origin_date == origin]
    backtest = demand.fit(rows[rows.target_date <= origin], config)
    pred = demand.predict(backtest, held)
    metrics = {
        "holdout_origin": f"{origin:%Y-%m-%d}",
        "lightgbm": demand.accuracy(held.target_units, pred.p50_units, pred.p90_units),
        "seasonal_naive": demand.accuracy(
            held.target_units, demand.seasonal_naive(held)
        ),
        "training_rows": int(len(rows)),
    }
    model = demand.fit(rows, config)
    meta = {
        "version": ds,
        "categories": model.categories,
        "config": model.config_dict(),
        "features": demand.NUMERIC_FEATURES + ["category"],
        "data_window": [f"{rows.target_date.min():%Y-%m-%d}", ds],
        "metrics": metrics,
    }

    def save(folder):
        model.save(folder)
        io.write_json(meta, folder / "meta.json")

    io.replace_dir(save, settings.registry / ds)
    return {"model_version": ds, "metrics": metrics}


def forecast_demand(settings: Settings, ds: str, model_version: str) -> dict:
    """P50/P90 units per SKU x location x day over the horizon after ``ds``."""
    folder = settings.registry / model_version
    meta = io.read_json(folder / "meta.json")
    model = demand.DemandModel.load(folder, meta["categories"], meta["config"])
    rows = query(
        settings,
        "mart_demand_features",
        "where origin_date = cast($ds as date)",
        {"ds": ds},
    )
    pred = demand.predict(model, rows)
    out = rows[["sku", "location_id", "target_date", "horizon_day"]].join(pred)
    out = out.rename(columns={"target_date": "forecast_date"}).assign(
        model_version=model_version
    )
    out = out.sort_values(["sku", "location_id", "forecast_date"]).reset_index(
        drop=True
    )
    path = settings.lake / "forecast" / f"ds={ds}" / "part-0.parquet"
    io.write_parquet(out, path)
    return {"path": str(path), "rows": int(len(out)), "model_version": model_version}
