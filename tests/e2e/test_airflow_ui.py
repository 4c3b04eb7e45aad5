"""The UI path: Airflow started as `make airflow` does, a run triggered over REST.

``python -m pipeline.airflow_run --standalone`` starts the API server, the
scheduler, the DAG processor and the triggerer on a throw-away SQLite metadata
DB (the shared ``served`` fixture, ``tests/e2e/conftest.py``). The test does
what a data engineer's script or the UI does: logs in with the generated admin
password (``POST /auth/token``), unpauses ``fusion_daily``, triggers it for two
days at once with a ``run_date`` param through ``POST
/api/v2/dags/fusion_daily/dagRuns``, waits for the scheduler to finish both
(one after the other: ``max_active_runs=1``; no task retried, no DuckDB lock
error), and reads the outputs. Nothing is mocked.
"""

from __future__ import annotations

import pandas as pd

from pipeline import io
from tests.e2e.conftest import DS


def test_a_run_triggered_over_rest_succeeds_and_writes_the_outputs(served, ui_days):
    server = served.server
    assert server.call("GET", "/api/v2/dags/fusion_daily")["is_paused"] is False
    for run in ui_days:
        tasks = server.task_instances(run["dag_run_id"])
        states = {t["task_id"] + str(t.get("map_index", -1)): t for t in tasks}
        assert run["state"] == "success", {k: t["state"] for k, t in states.items()}
        assert {t["state"] for t in states.values()} == {"success"}
        assert {t["try_number"] for t in states.values()} == {1}  # no lock retries
    first, second = sorted(ui_days, key=lambda run: run["start_date"])
    assert first["end_date"] <= second["start_date"], "the two runs overlapped"
    assert "Could not set lock" not in server.log_path.read_text()

    settings = served.settings
    report = io.read_json(settings.out_dir(DS) / "run_report.json")
    assert report["ds"] == DS
    assert report["write_back"]["applied"] is True
    plan = pd.read_csv(settings.out_dir(DS) / "replenishment_plan.csv")
    assert len(plan) == report["plan"]["order_lines"] > 0
