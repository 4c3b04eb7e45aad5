"""The day's stages as plain functions, called by the DAG and by ``fusionloop run``.

Each stage takes the settings and the run date, writes its outputs atomically,
records its wall time and result in ``out/<ds>/_stages/<stage>.json`` and
returns a small dict (what Airflow passes through XCom). ``write_back``, the
last stage, assembles ``out/<ds>/run_report.json``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pandas as pd

from pipeline import io, resources
from pipeline.settings import Settings
from pipeline.sources import SOURCES


def _timed(settings: Settings, ds: str, stage: str, fn: Callable[[], dict]) -> dict:
    rss_window = resources.reset_peak_rss()
    start = time.perf_counter()
    result = fn()
    seconds = round(time.perf_counter() - start, 3)
    peak = {"peak_rss_mb": resources.peak_rss_mb(), "peak_rss_of_stage": rss_window}
    io.write_json(
        {"seconds": seconds, "result": result} | peak,
        settings.out_dir(ds) / "_stages" / f"{stage}.json",
    )
    return result


def extract(settings: Settings, source: str, ds: str) -> dict:
    """Landing drop(s) of ``source`` -> raw lake partitions."""
    from pipeline.extract import extract_source

    return _timed(
        settings, ds, f"extract_{source}", lambda: extract_source(settings, source, ds)
    )


def validate(settings: Settings, extracted: dict) -> dict:
    """Raw partitions -> clean rows + quarantine; returns today's row counts."""
    from pipeline.validate import validate_source

    source, ds = extracted["source"], extracted["ds"]
    return _timed(
        settings,
        ds,
        f"validate_{source}",
        lambda: validate_source(
            settings, source, ds, extracted["days"], extracted.get("bad_drops")
        ),
    )


def build_features(settings: Settings, ds: str) -> dict:
    """Build the DuckDB warehouse for ``ds`` (incrementally where it can);
    returns rows per table."""
    from pipeline.warehouse import build_warehouse

    return _timed(settings, ds, "build_features", lambda: build_warehouse(settings, ds))


def train_demand_model(settings: Settings, ds: str) -> dict:
    from pipeline.forecasting import train_demand_model as train

    return _timed(settings, ds, "train_demand_model", lambda: train(settings, ds))


def reuse_demand_model(settings: Settings, ds: str, model_version: str) -> dict:
    """Record that ``ds`` forecasts with an earlier model instead of retraining.

    Returns what training would (the version and its metrics), so the run
    report reads the same; the closed-loop simulation retrains weekly this way.
    """
    meta = io.read_json(settings.registry / model_version / "meta.json")
    result = {"model_version": model_version, "metrics": meta["metrics"]}
    return _timed(settings, ds, "train_demand_model", lambda: result)


def regions(settings: Settings) -> list[str]:
    """The regions the forecast and the plan's first pass are mapped over."""
    from pipeline.regions import regions

    return regions(settings)


def forecast_demand(
    settings: Settings, ds: str, model_version: str, region: str
) -> dict:
    """The forecast of one region's locations (stage ``forecast_demand.<region>``)."""
    from pipeline.forecasting import forecast_demand as forecast

    return _timed(
        settings,
        ds,
        f"forecast_demand.{region}",
        lambda: forecast(settings, ds, model_version, region),
    )


def plan_region(settings: Settings, ds: str, region: str) -> dict:
    """The plan's first pass for one region (stage ``plan_region.<region>``)."""
    from pipeline.planning import plan_region as plan

    return _timed(
        settings, ds, f"plan_region.{region}", lambda: plan(settings, ds, region)
    )


def plan_replenishment(settings: Settings, ds: str) -> dict:
    """The regions' first passes joined into the plan the ops teams get."""
    from pipeline.planning import plan_replenishment as plan

    return _timed(settings, ds, "plan_replenishment", lambda: plan(settings, ds))


def adjust_promotions(settings: Settings, ds: str) -> dict:
    from pipeline.promoting import adjust_promotions as adjust

    return _timed(settings, ds, "adjust_promotions", lambda: adjust(settings, ds))


def write_back(settings: Settings, ds: str, model_version: str) -> dict:
    """Upsert the adjustments into marketing's database; write the KPI report
    (``kpi_report.html``), the Data Docs index and ``run_report.json``."""
    from pipeline.datadocs import write_index
    from pipeline.kpi_report import build_kpi_report
    from pipeline.report import build_report
    from pipeline.writeback import write_back as upsert

    adjustments = pd.read_csv(
        settings.out_dir(ds) / "promotion_adjustments.csv",
        dtype={"promo_id": str, "sku": str},
    )
    result = _timed(
        settings,
        ds,
        "write_back",
        lambda: upsert(settings.marketing_url, ds, adjustments, model_version),
    )
    _timed(settings, ds, "kpi_report", lambda: build_kpi_report(settings, ds))
    write_index(settings, ds)
    report = build_report(settings, ds)
    io.write_json(report, settings.out_dir(ds) / "run_report.json")
    return result


def run_day(settings: Settings, ds: str, reuse_model: str | None = None) -> dict:
    """Every stage for ``ds`` in order, without Airflow; returns the run report.

    ``reuse_model``: forecast with this registry version instead of training.
    """
    for source in SOURCES:
        validate(settings, extract(settings, source, ds))
    build_features(settings, ds)
    if reuse_model:
        model = reuse_demand_model(settings, ds, reuse_model)["model_version"]
    else:
        model = train_demand_model(settings, ds)["model_version"]
    shards = regions(settings)
    for region in shards:  # the DAG maps these over the regions
        forecast_demand(settings, ds, model, region)
    for region in shards:
        plan_region(settings, ds, region)
    plan_replenishment(settings, ds)
    adjust_promotions(settings, ds)
    write_back(settings, ds, model)
    return io.read_json(settings.out_dir(ds) / "run_report.json")
