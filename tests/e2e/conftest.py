"""One ``airflow standalone`` for every test that needs the real scheduler.

Starting Airflow costs one to two minutes, so the UI, retry and backfill tests
share one server over one XS market and run its days in date order, as the
closed loop does: the UI test's two days, then a day whose every stage is
killed once, then a backfill of the two days after. Each fixture below runs
its days after the ones before it, so any one test can also run alone.

Airflow's metadata DB is a throw-away PostgreSQL server, as in production:
on SQLite, Airflow refuses to create a backfill while its scheduler writes
(503 "Backfill creation is not supported on SQLite under concurrent access").
The server's tasks are armed with the fault switch for ``FAULT_DAY`` only
(``pipeline.faults``: each point fires once, markers in ``fired/``) and retry
after a second or two (``FUSION_RETRY_DELAY_S``), not after minutes.
"""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline import airflow_server, daily, fingerprint, io, market, postgres
from pipeline.settings import Settings

DAY_BEFORE, DS = "2026-01-30", "2026-01-31"  # the UI test's days
FAULT_DAY = "2026-02-01"
BACKFILL_DAYS = ("2026-02-02", "2026-02-03")
PII_KEY = "e2e-server"
RUN_S = 1200
# Airflow task -> the point its worker is killed at on FAULT_DAY (the riskiest
# of the stage: mid-Parquet, mid-DuckDB build, mid-write-back transaction).
KILLS = {
    "ingest.extract_source": f"file_write:lake/raw/orders/ds={FAULT_DAY}",
    "ingest.validate_source": f"file_write:lake/clean/orders/ds={FAULT_DAY}",
    "build_features": f"warehouse_build:ds={FAULT_DAY}/mart_demand_daily",
    "forecast.train_demand_model": f"file_write:registry/.{FAULT_DAY}",
    "forecast.forecast_demand": f"file_write:lake/forecast/ds={FAULT_DAY}/region=north",
    "decide.plan_replenishment": f"file_write:out/{FAULT_DAY}/replenishment_plan",
    "decide.adjust_promotions": f"file_write:out/{FAULT_DAY}/promotion_adjustments",
    "write_back": f"write_back:{FAULT_DAY}",
}


def pytest_collection_modifyitems(items):
    """Tests on the shared server are marked ``standalone``: ``make test-e2e``
    runs them, ``make test`` the rest."""
    for item in items:
        if "served" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.standalone)


@dataclass
class Served:
    """The shared server, the market it runs on and the fault markers' folder."""

    settings: Settings
    server: airflow_server.Standalone
    fired: Path

    def run_day(self, day: str) -> dict:
        """Trigger ``day`` over REST and wait until the scheduler finished it."""
        self.server.trigger(day, run_id=f"e2e_{day}")
        return self.server.wait_for_run(f"e2e_{day}", RUN_S)

    def reference(self, home: Path) -> Settings:
        """A copy of the market as it stands, to run days in without Airflow."""
        shutil.copytree(self.settings.fusion_home, home)
        return self.settings.replace(fusion_home=home)


def run_without_airflow(settings: Settings, day: str) -> dict:
    """The closed loop's day without Airflow: the market steps to ``day``,
    reacting to the day before's outputs, then every stage runs in process."""
    step = market.step(settings, day)
    report = daily.run_day(settings, day)
    return report | {"market_orders": step["orders"]}


@pytest.fixture(scope="session")
def served(tmp_path_factory):
    """``airflow standalone`` over a fresh XS market, logged in, DAG unpaused,
    its metadata in a throw-away PostgreSQL server."""
    root = tmp_path_factory.mktemp("served")
    settings = Settings.load(fusion_home=root / "home", pii_key=PII_KEY)
    # Snapshot drops (products, stores, customers, promotions) exist on a
    # generated market's last day only: step one more day to have two days.
    market.generate(settings, size="XS", days=60, seed=5, end=DAY_BEFORE)
    market.step(settings, DS, policy="baseline")
    with (
        postgres.throwaway() as metadata_db,
        airflow_server.running(
            settings.fusion_home,
            root / "airflow",
            metadata_db,
            FUSION_PII_KEY=PII_KEY,
            FUSION_FAULT=",".join(KILLS.values()),
            FUSION_FAULT_FIRED_DIR=str(root / "fired"),
            FUSION_RETRY_DELAY_S="1",
        ) as server,
    ):
        server.ready()
        yield Served(settings, server, root / "fired")


@pytest.fixture(scope="session")
def ui_days(served) -> list[dict]:
    """The UI test's two days, triggered together over REST, both finished."""
    for day in (DAY_BEFORE, DS):
        served.server.trigger(day, run_id=f"e2e_{day}")
    return [served.server.wait_for_run(f"e2e_{d}", RUN_S) for d in (DAY_BEFORE, DS)]


@pytest.fixture(scope="session")
def fault_day(served, ui_days, tmp_path_factory) -> dict:
    """FAULT_DAY run by the scheduler with every stage's worker killed once,
    next to the same day run cleanly without Airflow on a copy of the market.
    What the run left is fingerprinted at once, before later days change it."""
    settings = served.settings
    market.step(settings, FAULT_DAY)
    clean = served.reference(tmp_path_factory.mktemp("clean") / "home")
    version = daily.run_day(clean, FAULT_DAY)["forecast"]["model_version"]
    run = served.run_day(FAULT_DAY)
    report = io.read_json(settings.out_dir(FAULT_DAY) / "run_report.json")
    return {
        "run": run,
        "report": report,
        "clean_model_version": version,
        "clean": fingerprint.day(
            clean, FAULT_DAY, version, copied_from=settings.fusion_home
        ),
        "after_kills": fingerprint.day(
            settings, FAULT_DAY, report["forecast"]["model_version"]
        ),
        "temp_files": fingerprint.temp_files(settings),
        "write_back_rows": write_back_rows(settings, FAULT_DAY),
    }


def write_back_rows(settings: Settings, day: str) -> tuple[int, int]:
    """(adjustment rows, ledger rows) marketing holds for ``day``."""
    with sqlite3.connect(settings.fusion_home / "marketing.db") as con:
        return tuple(
            con.execute(
                f"select count(*) from {table} where ds = ?", (day,)
            ).fetchone()[0]
            for table in ("promotion_adjustments", "fusion_writeback_ledger")
        )


@pytest.fixture(scope="session")
def backfilled(served, fault_day, tmp_path_factory) -> dict:
    """BACKFILL_DAYS one by one without Airflow (the closed loop makes each
    day's drops from the day before's outputs), then the same drops through
    a backfill on the server (``POST /api/v2/backfills``)."""
    one_by_one = served.reference(tmp_path_factory.mktemp("one_by_one") / "home")
    reports = {day: run_without_airflow(one_by_one, day) for day in BACKFILL_DAYS}
    for day in BACKFILL_DAYS:  # the drops, as the source systems keep them
        shutil.copytree(one_by_one.landing / day, served.settings.landing / day)
    served.server.backfill(BACKFILL_DAYS[0], BACKFILL_DAYS[-1])
    runs = served.server.wait_for_backfill(len(BACKFILL_DAYS), RUN_S)
    home = served.settings.fusion_home
    return {
        "runs": runs,
        "one_by_one": one_by_one,
        "reports": reports,
        "by_backfill": fingerprint.days(served.settings, list(BACKFILL_DAYS)),
        "by_one_by_one": fingerprint.days(
            one_by_one, list(BACKFILL_DAYS), copied_from=home
        ),
        "temp_files": fingerprint.temp_files(served.settings),
    }
