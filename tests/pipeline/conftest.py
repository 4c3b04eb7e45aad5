"""Fixtures of the pipeline tests: a throw-away PostgreSQL server for the
write-back tests (``pipeline.postgres``: missing server binaries fail the
tests with the fix, they never skip) and an XS day through planning and
promotions.
"""

from __future__ import annotations

import pytest

from pipeline import postgres


@pytest.fixture(scope="session")
def postgres_url():
    """SQLAlchemy URL of a fresh PostgreSQL server, stopped after the session."""
    try:
        with postgres.throwaway() as url:
            yield url
    except postgres.PostgresError as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(scope="session")
def xs_day(xs_ingested):
    """The XS run date through planning and promotions, in a known situation.

    The forecast is hand-built rather than a trained LightGBM: these tests are
    about the marketing side, and training is what the forecast tests and the
    end-to-end run cover. It is each series' mean over the last 7 days (from
    mart_demand_daily, so it does not depend on the feature mart's columns),
    P90 = 1.5 x P50 + 1, except that SKUs with a promotion live on the run
    date get a demand spike their stock cannot carry: the policy must shrink
    or pause those promotions. ``overstock_days`` is lowered so that the
    quiet SKUs are overstocked and get markdowns, with the holding-cost test
    off (held a few days, no markdown would pay).
    """
    import dataclasses

    from pipeline import daily, io, regions
    from tests.conftest import XS_END

    settings = dataclasses.replace(
        xs_ingested,
        overstock_days=XS_OVERSTOCK_DAYS,
        markdown_discount_per_holding_eur=float("inf"),  # markdowns for the test
    )
    forecast = _xs_forecast(settings, XS_END)
    for region in regions.regions(settings):
        mine = forecast.location_id.isin(regions.locations_of(settings, region))
        io.write_parquet(
            forecast[mine], regions.forecast_path(settings, XS_END, region)
        )
        daily.plan_region(settings, XS_END, region)
    daily.plan_replenishment(settings, XS_END)
    daily.adjust_promotions(settings, XS_END)
    return settings


XS_OVERSTOCK_DAYS = 5.0
XS_SPIKE = 50.0  # demand multiplier on SKUs with a live promotion


def _xs_forecast(settings, ds: str):
    """Last-7-day mean per series over the horizon; spiked on promoted SKUs."""
    import pandas as pd

    from models.promotions import live_promotions
    from pipeline.warehouse import query

    day = pd.Timestamp(ds)
    daily = query(settings, "mart_demand_daily")
    recent = daily[daily.sales_date > day - pd.Timedelta(days=7)]
    mean = recent.groupby(["sku", "location_id"], as_index=False).units_sold.mean()
    promoted = live_promotions(query(settings, "stg_promotions"), ds).sku
    mean["units_sold"] *= mean.sku.isin(promoted).map({True: XS_SPIKE, False: 1.0})
    horizon = pd.DataFrame({"horizon_day": range(1, settings.horizon_days + 1)})
    forecast = mean.merge(horizon, how="cross")
    return forecast.assign(
        forecast_date=day + pd.to_timedelta(forecast.horizon_day, unit="D"),
        p50_units=forecast.units_sold,
        p90_units=1.5 * forecast.units_sold + 1,
        model_version="naive-7d",
    ).drop(columns="units_sold")
