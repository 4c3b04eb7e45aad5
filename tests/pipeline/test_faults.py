"""The fault switch: several points armed at once, each firing once with markers."""

import os
import signal
import subprocess
import sys

import pytest

from pipeline import faults

CRASH = (
    "from pipeline.faults import crash_point; "
    "crash_point('file_write', 'lake/raw/orders/ds=2026-02-01/part-0.parquet'); "
    "print('went on')"
)


def _reach_the_point(env: dict) -> subprocess.CompletedProcess:
    """A fresh process that reaches the orders extract's write point."""
    return subprocess.run(
        [sys.executable, "-c", CRASH],
        env=dict(os.environ) | env,
        capture_output=True,
        text=True,
    )


def test_several_points_arm_each_where_it_names(monkeypatch):
    monkeypatch.setenv(
        "FUSION_FAULT",
        "file_write:ds=2026-02-01, warehouse_build:ds=2026-02-01/mart_demand_daily",
    )
    assert faults.armed("file_write", "lake/raw/orders/ds=2026-02-01/p.parquet")
    assert faults.armed("file_write", "lake/raw/orders/ds=2026-01-31/p.parquet") is None
    assert faults.armed("warehouse_build", "ds=2026-02-01/mart_demand_daily")
    assert faults.armed("warehouse_build", "ds=2026-02-01/stg_orders") is None
    assert faults.armed("write_back", "2026-02-01") is None


def test_an_unknown_point_is_an_error_naming_the_known_ones(monkeypatch):
    monkeypatch.setenv("FUSION_FAULT", "file_write:x,disk_full")
    with pytest.raises(ValueError, match="'disk_full': unknown point; known"):
        faults.armed_specs()


def test_without_a_marker_folder_a_point_fires_every_time():
    env = {"FUSION_FAULT": "file_write:ds=2026-02-01", "FUSION_FAULT_FIRED_DIR": ""}
    for _ in range(2):
        assert _reach_the_point(env).returncode == -signal.SIGKILL


def test_with_a_marker_folder_each_point_fires_once(tmp_path):
    env = {
        "FUSION_FAULT": "file_write:lake/raw/orders/ds=2026-02-01",
        "FUSION_FAULT_FIRED_DIR": str(tmp_path / "fired"),
    }
    first = _reach_the_point(env)
    second = _reach_the_point(env)
    assert first.returncode == -signal.SIGKILL and "went on" not in first.stdout
    assert second.returncode == 0 and "went on" in second.stdout
    assert faults.fired(tmp_path / "fired") == [
        "file_write:lake/raw/orders/ds=2026-02-01"
    ]
