"""The DAG file parses cleanly, cheaply, and is wired as documented."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HEAVY = ["lightgbm", "duckdb", "great_expectations", "pulp", "sklearn"]


INSPECT = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
from pipeline.sources import BadFileError


def on(t, err):
    return t.retry_policy.evaluate(err, 1, 3).action.value


def names(callbacks):  # a list on plain tasks, the function on mapped ones
    found = callbacks if isinstance(callbacks, list) else [callbacks]
    return [f.__name__ for f in found]

bag = DagBag(dag_folder=sys.argv[1])
d = bag.get_dag("fusion_daily")
print(json.dumps({
    "import_errors": {k: str(v) for k, v in bag.import_errors.items()},
    "task_ids": sorted(d.task_ids), "catchup": d.catchup,
    "max_active_runs": d.max_active_runs, "timetable": str(d.timetable),
    "doc_md": d.doc_md, "params": sorted(d.params.keys()),
    "tasks": {t.task_id: {"retries": t.retries, "doc_md": t.doc_md, "pool": t.pool,
                          "downstream": sorted(t.downstream_task_ids),
                          "on_bad_file": on(t, BadFileError("x")),
                          "on_other_error": on(t, OSError("disk")),
                          "on_bad_setting": on(t, ValueError("x")),
                          "backoff": t.retry_exponential_backoff,
                          "on_failure": names(t.on_failure_callback)}
              for t in d.tasks},
}))
"""


def _python_json(code: str, arg: str, env: dict):
    """Run ``code`` in a fresh interpreter; return the JSON on its last line."""
    out = subprocess.run(
        [sys.executable, "-c", code, arg],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def dag(airflow_env) -> dict:
    """What Airflow's own DagBag sees in dags/, as plain data."""
    info = _python_json(INSPECT, str(REPO / "dags"), airflow_env)
    assert info["import_errors"] == {}
    return info


def test_expected_tasks_in_their_groups(dag):
    assert dag["task_ids"] == [
        "build_features",
        "decide.adjust_promotions",
        "decide.plan_region",
        "decide.plan_replenishment",
        "forecast.forecast_demand",
        "forecast.train_demand_model",
        "ingest.extract_source",
        "ingest.validate_source",
        "list_regions",
        "resolve_run",
        "write_back",
    ]
    assert dag["tasks"]["write_back"]["downstream"] == []


def test_schedule_retries_docs_and_pool(dag):
    assert dag["catchup"] is False
    assert dag["max_active_runs"] == 1
    assert "0 0 * * *" in dag["timetable"]
    assert "fusion_daily" in dag["doc_md"]
    for task_id, t in dag["tasks"].items():
        assert t["retries"] >= 1, task_id
        assert t["doc_md"], task_id
    assert dag["tasks"]["build_features"]["pool"] == "duckdb_writer"


def test_a_bad_file_fails_at_once_other_errors_retry(dag):
    for task_id, t in dag["tasks"].items():
        assert t["on_bad_file"] == "fail", task_id
        assert t["on_bad_setting"] == "fail", task_id
        assert t["on_other_error"] != "fail", task_id
        assert t["backoff"] == 2.0, task_id
        assert t["on_failure"] == ["record_failure"], task_id
    assert dag["params"] == ["budget_eur", "horizon_days", "run_date", "service_level"]


def test_parsing_imports_no_heavy_library(airflow_env):
    code = (
        "import runpy, sys, json; runpy.run_path(sys.argv[1]); "
        "print(json.dumps(sorted(m for m in sys.modules)))"
    )
    loaded = set(_python_json(code, str(REPO / "dags/fusion_daily.py"), airflow_env))
    assert not [m for m in HEAVY if m in loaded]
