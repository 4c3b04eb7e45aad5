"""The DAG, unchanged, on an imported landing: weekly store x department sales.

A real ``airflow dags test fusion_daily`` (nothing mocked) on what
``fusionloop import`` wrote from an aggregated export with no SKU, no
customer, no inventory and no costs.
"""

from __future__ import annotations

import subprocess
import sys

import pandas as pd

from pipeline import io
from pipeline.importer import import_exports
from pipeline.mapping import load_mapping
from pipeline.settings import Settings
from tests.import_samples import write_sample


def test_fusion_daily_runs_on_an_imported_weekly_landing(airflow_env, tmp_path):
    mapping, folder = write_sample("weekly", tmp_path)
    settings = Settings.load(fusion_home=tmp_path / "home", train_window_days=60)
    manifest = import_exports(
        load_mapping(mapping), folder, settings.landing, settings.expectations_dir
    )
    ds = manifest["last_day"]
    env = airflow_env | {
        "FUSION_HOME": str(settings.fusion_home),
        "FUSION_PII_KEY": "import-e2e",
        "FUSION_TRAIN_WINDOW_DAYS": "60",
    }
    out = subprocess.run(
        [sys.executable, "-m", "pipeline.airflow_run", "--ds", ds],
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "plan assumes (not exported):" in out.stdout
    report = io.read_json(settings.out_dir(ds) / "run_report.json")
    orders = report["sources"]["orders"]
    assert orders["input_rows"] == orders["accepted_rows"] + orders["quarantined_rows"]
    assert report["import"]["grain"] == "week"
    plan = pd.read_csv(settings.out_dir(ds) / "replenishment_plan.csv")
    assert set(plan.sku) <= {"produce", "dairy"} and len(plan) > 0
    assert plan.reason.str.contains("assumed by import").all()
