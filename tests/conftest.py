"""Shared fixtures: a tiny seeded market, ingested once per test session."""

from __future__ import annotations

import pytest

from pipeline import market
from pipeline.settings import Settings
from pipeline.sources import SOURCES

XS_END = "2026-01-31"


@pytest.fixture(scope="session")
def xs_settings(tmp_path_factory) -> Settings:
    """Settings over a fresh XS market (12 SKUs x 2 locations x 60 days)."""
    home = tmp_path_factory.mktemp("fusion_home")
    settings = Settings.load(fusion_home=home, train_window_days=30, pii_key="test-key")
    market.generate(settings, size="XS", days=60, seed=11, end=XS_END)
    return settings


@pytest.fixture(scope="session")
def xs_ingested(xs_settings) -> Settings:
    """The XS market extracted, validated and built into the warehouse."""
    from pipeline import daily

    for source in SOURCES:
        daily.validate(xs_settings, daily.extract(xs_settings, source, XS_END))
    daily.build_features(xs_settings, XS_END)
    return xs_settings


@pytest.fixture(scope="session")
def airflow_env(tmp_path_factory) -> dict:
    """Environment for a throw-away Airflow home with a migrated SQLite DB."""
    import os
    import subprocess

    from pipeline.airflow_run import REPO
    from pipeline.airflow_run import airflow_env as base_env

    env = base_env() | {"AIRFLOW_HOME": str(tmp_path_factory.mktemp("airflow_home"))}
    env.pop("FUSION_HOME", None)
    airflow = str(REPO / ".venv" / "bin" / "airflow")
    if not os.path.exists(airflow):
        import sys

        airflow = os.path.join(os.path.dirname(sys.executable), "airflow")
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True)
    env["FUSION_AIRFLOW_BIN"] = airflow
    return env
