"""A worker killed mid-stage leaves nothing half-written, and a re-run heals it.

For each stage, a worker process running the day (``fusionloop run``) is
killed with SIGKILL at the stage's riskiest point by the fault switch
(``FUSION_FAULT``, see ``pipeline.faults``): mid-write of a Parquet or CSV
file, mid-DuckDB build, mid-write-back transaction. Then readers must see no
partial file and no half batch, and re-running the day must leave exactly
what a clean run leaves (``pipeline.fingerprint``) with no temp file behind.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys

import duckdb
import pyarrow.parquet as pq
import pytest

from pipeline import daily, fingerprint, io, market
from pipeline.settings import Settings

DS = "2026-01-31"
KNOBS = {"train_window_days": 30, "pii_key": "crash-test"}
# stage -> (fault switch, the output readers must not see after the kill):
# the point where a kill does the most harm in that stage.
KILL_POINTS = {
    "extract": (
        f"file_write:lake/raw/orders/ds={DS}",
        f"lake/raw/orders/ds={DS}/part-0.parquet",
    ),
    "validate": (
        f"file_write:lake/clean/orders/ds={DS}",
        f"lake/clean/orders/ds={DS}/part-0.parquet",
    ),
    "build_features": ("warehouse_build:mart_demand_daily", "warehouse.duckdb"),
    "train_demand_model": (f"file_write:registry/.{DS}", f"registry/{DS}"),
    "forecast_demand": (
        "file_write:lake/forecast",
        f"lake/forecast/ds={DS}/region=north/part-0.parquet",
    ),
    "plan_region": (
        "file_write:plan_blocks",
        f"out/{DS}/plan_blocks/region=north",
    ),
    "plan_replenishment": (
        "file_write:replenishment_plan.csv",
        f"out/{DS}/replenishment_plan.csv",
    ),
    "adjust_promotions": (
        "file_write:promotion_adjustments.csv",
        f"out/{DS}/promotion_adjustments.csv",
    ),
    "write_back": (f"write_back:{DS}", f"out/{DS}/run_report.json"),
}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Settings:
    """A fresh XS market nobody has run yet (copied for every test)."""
    settings = Settings.load(fusion_home=tmp_path_factory.mktemp("pristine"), **KNOBS)
    market.generate(settings, size="XS", days=60, seed=3, end=DS)
    return settings


@pytest.fixture(scope="module")
def clean(pristine, tmp_path_factory) -> dict:
    """The fingerprint of one uninterrupted run of the day."""
    settings = _copy(pristine, tmp_path_factory.mktemp("clean"))
    report = daily.run_day(settings, DS)
    return fingerprint.day(settings, DS, report["forecast"]["model_version"])


def _copy(pristine: Settings, home) -> Settings:
    shutil.copytree(pristine.fusion_home, home, dirs_exist_ok=True)
    return pristine.replace(fusion_home=home)


def _killed_run(settings: Settings, fault: str) -> subprocess.CompletedProcess:
    """``fusionloop run`` for the day in a worker process armed with ``fault``."""
    env = dict(os.environ) | {
        "FUSION_HOME": str(settings.fusion_home),
        "FUSION_TRAIN_WINDOW_DAYS": str(KNOBS["train_window_days"]),
        "FUSION_PII_KEY": KNOBS["pii_key"],
        "FUSION_FAULT": fault,
    }
    return subprocess.run(
        [sys.executable, "-m", "pipeline", "run", "--ds", DS],
        env=env,
        capture_output=True,
        text=True,
    )


def _assert_readers_see_only_whole_files(settings: Settings) -> None:
    """Every file a reader would pick up opens whole; temp files are hidden."""
    for path in settings.lake.rglob("*.parquet"):
        pq.read_metadata(path)  # raises on a file without its footer
    for path in settings.fusion_home.rglob("*.json"):
        if not path.name.startswith("."):
            io.read_json(path)
    if settings.warehouse.exists():
        duckdb.connect(str(settings.warehouse), read_only=True).close()
    # What the killed writer left never matches a reader's *.parquet/*.json glob.
    for leftover in fingerprint.temp_files(settings):
        assert leftover.suffix not in {".parquet", ".json", ".csv", ".duckdb"}


def _write_back_rows(settings: Settings) -> tuple[int, int]:
    """(adjustment rows, ledger rows) marketing holds for the day."""
    db = settings.fusion_home / "marketing.db"
    if not db.exists():
        return 0, 0
    with sqlite3.connect(db) as con:
        tables = {t for (t,) in con.execute("select name from sqlite_master")}
        if "fusion_writeback_ledger" not in tables:
            return 0, 0
        return tuple(
            con.execute(f"select count(*) from {t} where ds = ?", (DS,)).fetchone()[0]
            for t in ("promotion_adjustments", "fusion_writeback_ledger")
        )


@pytest.mark.parametrize("stage", list(KILL_POINTS))
def test_a_killed_stage_leaves_no_partial_output_and_a_rerun_heals_it(
    stage, pristine, clean, tmp_path
):
    settings = _copy(pristine, tmp_path / "home")
    fault, unseen = KILL_POINTS[stage]
    killed = _killed_run(settings, fault)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert not (settings.fusion_home / unseen).exists()
    assert any(fingerprint.temp_files(settings)) or stage == "write_back"
    _assert_readers_see_only_whole_files(settings)
    assert not (settings.out_dir(DS) / "run_report.json").exists()
    assert _write_back_rows(settings) == (0, 0)  # no half batch

    report = daily.run_day(settings, DS)

    assert fingerprint.temp_files(settings) == []
    rerun = fingerprint.day(settings, DS, report["forecast"]["model_version"])
    assert fingerprint.differences(clean, rerun) == []
    assert _write_back_rows(settings) == (report["write_back"]["rows"], 1)
