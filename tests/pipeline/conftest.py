"""A throw-away PostgreSQL server for the write-back tests.

It runs Debian's server binaries (``make system-deps`` installs postgresql-15
where they are missing) as the ``postgres`` user when the tests run as root
(initdb refuses root), in a temporary folder, on a free loopback port, with
trust authentication: no password exists to leak. The server is stopped and
its folder removed when the session ends. Missing binaries fail the tests
with the fix; they never skip.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile

import pytest


def _server_bin() -> str:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.fail(
            "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb);"
            " install them with `make system-deps` (apt-get install postgresql-15)",
            pytrace=False,
        )
    return os.path.dirname(found[-1])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(args: list[str]) -> None:
    """Run a server command (as ``postgres`` when root); fail with its output."""
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--", *args]
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode:
        pytest.fail(f"{' '.join(args)} failed:\n{done.stderr}{done.stdout}", False)


@pytest.fixture(scope="session")
def postgres_url():
    """SQLAlchemy URL of a fresh PostgreSQL server, stopped after the session."""
    bindir = _server_bin()
    folder = tempfile.mkdtemp(prefix="fusion-pg-")
    data, port = os.path.join(folder, "data"), _free_port()
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1"
    ctl = [f"{bindir}/pg_ctl", "-D", data, "-l", f"{folder}/log", "-w"]
    try:
        _as_server_user([f"{bindir}/initdb", "-D", data, "-A", "trust", "-U", "fusion"])
        _as_server_user([*ctl, "-o", options, "start"])
        try:
            yield f"postgresql+psycopg://fusion@127.0.0.1:{port}/postgres"
        finally:
            _as_server_user([*ctl, "-m", "immediate", "stop"])
    finally:
        shutil.rmtree(folder, ignore_errors=True)


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

    from pipeline import daily, io
    from pipeline.planning import forecast_path
    from tests.conftest import XS_END

    settings = dataclasses.replace(
        xs_ingested,
        overstock_days=XS_OVERSTOCK_DAYS,
        markdown_discount_per_holding_eur=float("inf"),  # markdowns for the test
    )
    io.write_parquet(_xs_forecast(settings, XS_END), forecast_path(settings, XS_END))
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
