"""A throw-away PostgreSQL server for the write-back tests.

It runs Debian's server binaries (``make install`` installs postgresql-15
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
    _as_server_user([f"{bindir}/initdb", "-D", data, "-A", "trust", "-U", "fusion"])
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1"
    ctl = [f"{bindir}/pg_ctl", "-D", data, "-l", f"{folder}/log", "-w"]
    _as_server_user([*ctl, "-o", options, "start"])
    try:
        yield f"postgresql+psycopg://fusion@127.0.0.1:{port}/postgres"
    finally:
        _as_server_user([*ctl, "-m", "immediate", "stop"])
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def xs_day(xs_ingested):
    """The XS run date through planning and promotions.

    The forecast is the last 7 days' mean per series (P90 = 1.5 x P50 + 1)
    rather than a trained LightGBM: these tests are about the marketing side,
    and training is what the forecast tests and the end-to-end run cover.
    """
    from pipeline import daily, io
    from pipeline.planning import forecast_path
    from pipeline.warehouse import query
    from tests.conftest import XS_END

    rows = query(
        xs_ingested, "mart_demand_features", "where origin_date = $ds", {"ds": XS_END}
    )
    forecast = rows[["sku", "location_id", "target_date", "horizon_day"]].assign(
        p50_units=rows.mean_7d_units.fillna(0.0),
        p90_units=1.5 * rows.mean_7d_units.fillna(0.0) + 1,
        model_version="naive-7d",
    )
    io.write_parquet(
        forecast.rename(columns={"target_date": "forecast_date"}),
        forecast_path(xs_ingested, XS_END),
    )
    daily.plan_replenishment(xs_ingested, XS_END)
    daily.adjust_promotions(xs_ingested, XS_END)
    return xs_ingested
