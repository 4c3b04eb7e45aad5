"""Every stage killed once under the real scheduler, healed by Airflow's retry.

One DAG run of ``FAULT_DAY`` on ``airflow standalone`` (LocalExecutor): the
fault switch kills each stage's worker with SIGKILL at its riskiest point
(``KILLS``: mid-Parquet in extract, validate and forecast, mid-DuckDB build,
the model folder half built, half a plan or adjustments CSV, inside the
write-back transaction). Airflow 3.3's task supervisor reports a worker that
died of a signal as ``up_for_retry`` while tries are left, and the scheduler
runs the task again; the retried try finds the point's marker and runs clean.
At the end the run has succeeded, every killed task on its second try and
every other on its first, and the outputs equal the same day run cleanly
without Airflow on a copy of the market: no partial or temp file, the
write-back batch once.
"""

from __future__ import annotations

import json

from pipeline import faults, fingerprint
from tests.e2e.conftest import KILLS

# The ingest tasks are mapped over sources, the orders one is killed; the
# forecast over regions, the north one is killed.
MAPPED = {"ingest.extract_source": "orders", "ingest.validate_source": "orders"}
MAPPED["forecast.forecast_demand"] = "north"
KILLED = {f"{t}[{MAPPED[t]}]" if t in MAPPED else t for t in KILLS}
# What the supervisor logs when a task process died of SIGKILL with tries left.
RETRIED_KILL = "exit_code=<Negsignal.SIGKILL: -9> final_state=up_for_retry"


def _task_instances(served, run_id: str) -> dict[str, dict]:
    """``task_id`` (``task_id[source]`` when mapped) -> its task instance."""
    out = {}
    for ti in served.server.task_instances(run_id):
        key = ti["task_id"]
        if ti.get("map_index", -1) >= 0:
            key += f"[{ti['rendered_map_index']}]"
        out[key] = ti
    return out


def _first_try_log(served, run_id: str, ti: dict) -> str:
    """The task's first try's log, as the UI's log view reads it."""
    path = f"/api/v2/dags/fusion_daily/dagRuns/{run_id}/taskInstances/"
    path += f"{ti['task_id']}/logs/1?map_index={ti.get('map_index', -1)}"
    return json.dumps(served.server.call("GET", path))


def test_every_stage_killed_once_is_retried_by_airflow(served, fault_day):
    run_id = fault_day["run"]["dag_run_id"]
    tis = _task_instances(served, run_id)
    assert fault_day["run"]["state"] == "success", {
        k: t["state"] for k, t in tis.items()
    }
    assert faults.fired(served.fired) == sorted(KILLS.values())
    assert {key for key, ti in tis.items() if ti["try_number"] == 2} == KILLED
    assert {ti["try_number"] for key, ti in tis.items() if key not in KILLED} == {1}
    for key in KILLED:  # the first try died of the kill, nothing else
        log = _first_try_log(served, run_id, tis[key])
        assert "Process terminated by signal" in log and "SIGKILL" in log, key
    # up_for_retry, not failed: the supervisor's own record of each kill
    assert served.server.log_path.read_text().count(RETRIED_KILL) == len(KILLS)


def test_after_the_retries_the_outputs_equal_a_clean_run(fault_day):
    report = fault_day["report"]
    assert report["forecast"]["model_version"] == fault_day["clean_model_version"]
    assert fingerprint.differences(fault_day["clean"], fault_day["after_kills"]) == []
    assert any(key.startswith("warehouse/") for key in fault_day["after_kills"])
    assert fault_day["temp_files"] == []
    assert fault_day["write_back_rows"] == (report["write_back"]["rows"], 1)
