"""Train a challenger, pit it against the champion, forecast the horizon.

Days whose sales a stock-out censored are masked: left out of training and of
scoring, because their true demand is unknown (sales there are a lower bound).
"""

from __future__ import annotations

from dataclasses import asdict, replace

import pandas as pd

from models import demand
from pipeline import io, regions, registry
from pipeline.settings import Settings
from pipeline.warehouse import query, read_warehouse


def model_config(settings: Settings) -> demand.DemandModelConfig:
    """The daily model's LightGBM settings."""
    return demand.DemandModelConfig(
        seed=settings.seed,
        max_training_rows=settings.max_training_rows,
        training_rows_per_series=settings.training_rows_per_series,
        mean_objective=settings.forecast_mean_objective,
        scale_target=bool(settings.forecast_scale_target),
    )


def _holdout_score(rows, origin, config) -> dict:
    """Fit ``config`` on targets known at ``origin``; score the origin's rows."""
    held = rows[rows.origin_date == origin]
    model = demand.fit(rows[rows.target_date <= origin], config)
    pred = demand.predict(model, held)
    return demand.accuracy(held.target_units, pred.p50_units, pred.p90_units)


def train_demand_model(settings: Settings, ds: str) -> dict:
    """Fit a challenger on all known targets; keep it only if it beats the champion.

    Both are scored on the same holdout (the origin ``holdout_days`` before
    ``ds``), each refit on the targets known at that origin. Returns the version
    that forecasts (``model_version``), the decision and the metrics.
    """
    origin = pd.Timestamp(ds) - pd.Timedelta(days=settings.holdout_days)
    rows = _known_rows(settings, origin)
    rows = rows[~rows.target_censored.astype(bool)]
    config = model_config(settings)
    held = rows[rows.origin_date == origin]
    metrics = {
        "holdout_origin": f"{origin:%Y-%m-%d}",
        "lightgbm": _holdout_score(rows, origin, config),
        "seasonal_naive": demand.accuracy(
            held.target_units, demand.seasonal_naive(held)
        ),
        "training_rows": int(len(rows)),
    }
    _save(settings, ds, demand.fit(rows, config), rows, metrics)
    champion = registry.champion_before(settings, ds)
    wape = metrics["lightgbm"]["wape"]
    champion_wape, same = _champion_wape(settings, champion, rows, origin, wape)
    promote, reason = registry.decide(wape, champion_wape, same)
    version = ds if promote else champion
    registry.record_decision(
        settings,
        ds,
        {"version": version, "challenger": ds, "champion_before": champion}
        | {"promoted": promote, "reason": reason},
    )
    return {
        "model_version": version,
        "promoted": promote,
        "reason": reason,
        "metrics": metrics,
    }


def _known_rows(settings: Settings, holdout_origin: pd.Timestamp) -> pd.DataFrame:
    """Feature rows with a known target; at most about ``training_read_rows``.

    On a big market (M: 20,000 series x 134 origins x 14 days) the known rows
    do not fit in memory, and training samples at most
    ``demand.training_rows_cap`` of them anyway. Above the cap, DuckDB keeps a
    seeded hash sample of the rows plus every row of the holdout origin
    (scored in full); below it, all rows.
    """
    known = "where target_units is not null"
    with read_warehouse(settings) as con:
        n = con.execute(f"select count(*) from mart_demand_features {known}").fetchone()
    if n[0] <= settings.training_read_rows:
        return query(settings, "mart_demand_features", known)
    sample = (
        " and (origin_date = cast($origin as date) or"
        " hash(sku, location_id, origin_date, horizon_day, $seed) % 1000000 < $cut)"
    )
    params = {
        "origin": f"{holdout_origin:%Y-%m-%d}",
        "seed": settings.seed,
        "cut": int(1_000_000 * settings.training_read_rows / n[0]),
    }
    return query(settings, "mart_demand_features", known + sample, params)


def _champion_wape(settings, champion, rows, origin, challenger_wape):
    """The champion recipe's WAPE on the challenger's holdout window and cutoff.

    Returns ``(wape, same_recipe)``. The same config and features give the
    challenger's score (training is deterministic); a champion whose features
    the code no longer computes cannot be re-scored (``None``).
    """
    if champion is None:
        return None, False
    meta = registry.read_meta(settings, champion)
    if meta["features"] != _features():
        return None, False
    # A model saved before the mean booster had none, nor a per-series cap.
    champion_config = demand.BEFORE_NEW_FIELDS | meta["config"]
    train = rows[rows.target_date <= origin]
    theirs = _effective(champion_config, train)
    ours = _effective(asdict(model_config(settings)), train)
    if theirs == ours:
        return challenger_wape, True
    if _without_mean(theirs) == _without_mean(ours):
        # Same P50 and P90 recipe (the WAPE is the P50's): the challenger scores
        # the same and carries the mean booster the settings now ask for.
        return challenger_wape, True
    config = demand.DemandModelConfig(**champion_config)
    return _holdout_score(rows, origin, config)["wape"], False


def _effective(config: dict, train: pd.DataFrame) -> dict:
    """``config`` with its training-row cap as the rows it samples from
    ``train``: two caps that take the same sample are the same recipe (a
    champion saved before the per-series cap, on a market where the flat
    cap still rules, must not tie with its challenger and stay forever)."""
    config = demand.DemandModelConfig(**config)
    rows = min(demand.training_rows_cap(train, config), len(train))
    return asdict(replace(config, max_training_rows=rows, training_rows_per_series=0))


def _without_mean(config: dict) -> dict:
    return {k: v for k, v in config.items() if k != "mean_objective"}


def _features() -> list[str]:
    return demand.NUMERIC_FEATURES + demand.CATEGORICAL_FEATURES


def _save(settings, ds, model, rows, metrics) -> None:
    """The challenger with its config, features, data window and metrics."""
    meta = {
        "version": ds,
        "categories": model.categories,
        "config": model.config_dict(),
        "features": _features(),
        "data_window": [f"{rows.target_date.min():%Y-%m-%d}", ds],
        "metrics": metrics,
    }

    def save(folder):
        model.save(folder)
        io.write_json(meta, folder / "meta.json")

    io.replace_dir(save, settings.registry / ds)


def forecast_demand(
    settings: Settings, ds: str, model_version: str, region: str
) -> dict:
    """P50/P90 units per SKU x location x day over the horizon after ``ds``, for
    the locations of ``region`` (one shard of the day's forecast)."""
    folder = settings.registry / model_version
    meta = io.read_json(folder / "meta.json")
    model = demand.DemandModel.load(folder, meta["categories"], meta["config"])
    rows = query(
        settings,
        "mart_demand_features",
        "where origin_date = cast($ds as date) and region = $region",
        {"ds": ds, "region": region},
    )
    pred = demand.predict(model, rows)
    out = rows[["sku", "location_id", "target_date", "horizon_day"]].join(pred)
    out = out.rename(columns={"target_date": "forecast_date"}).assign(
        model_version=model_version
    )
    out = out.sort_values(["sku", "location_id", "forecast_date"]).reset_index(
        drop=True
    )
    path = io.write_parquet(out, regions.forecast_path(settings, ds, region))
    return {
        "path": str(path),
        "region": region,
        "rows": int(len(out)),
        "model_version": model_version,
    }
