"""The UI path: Airflow started as `make airflow` does, a run triggered over REST.

``python -m pipeline.airflow_run --standalone`` starts the API server, the
scheduler, the DAG processor and the triggerer on a throw-away SQLite metadata
DB. The test then does what a data engineer's script or the UI does: logs in
with the generated admin password (``POST /auth/token``), unpauses
``fusion_daily``, triggers it for two days at once with a ``run_date`` param
through ``POST /api/v2/dags/fusion_daily/dagRuns``, waits for the scheduler to
finish both (one after the other: ``max_active_runs=1``; no task retried, no
DuckDB lock error), and reads the outputs. Nothing is mocked.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pandas as pd
import psutil
import pytest

from pipeline import io, market
from pipeline.settings import Settings

DS = "2026-01-31"
DAY_BEFORE = "2026-01-30"
STARTUP_S = 300
RUN_S = 900


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Api:
    """The few Airflow 3 REST calls a script needs, with a bearer token."""

    def __init__(self, base: str):
        self.base = base
        self.token: str | None = None

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(
            self.base + path,
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Content-Type": "application/json"}
            | ({"Authorization": f"Bearer {self.token}"} if self.token else {}),
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"{}")

    def wait_for(self, path: str, seconds: float, server: subprocess.Popen) -> dict:
        """GET ``path`` until it answers 200 (the server may still be starting)."""
        deadline = time.monotonic() + seconds
        while True:
            assert server.poll() is None, "airflow standalone exited early"
            try:
                return self.call("GET", path)
            except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
                if time.monotonic() > deadline:
                    raise AssertionError(f"{path} not ready: {error}") from error
                time.sleep(2)


@pytest.fixture(scope="module")
def standalone(airflow_env, tmp_path_factory):
    """``airflow standalone`` on a free port, over a fresh XS market."""
    settings = Settings.load(fusion_home=tmp_path_factory.mktemp("ui_home"))
    # Snapshot drops (products, stores, customers, promotions) exist on a
    # generated market's last day only: step one more day to have two days.
    market.generate(settings, size="XS", days=60, seed=5, end=DAY_BEFORE)
    market.step(settings, DS, policy="baseline")
    port = _free_port()
    home = tmp_path_factory.mktemp("ui_airflow_home")
    env = airflow_env | {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://localhost:{port}",
        "FUSION_HOME": str(settings.fusion_home),
        "FUSION_PII_KEY": "ui",
    }
    log = open(home / "standalone.log", "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [sys.executable, "-m", "pipeline.airflow_run", "--standalone"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield settings, Api(f"http://localhost:{port}"), server, home
    finally:
        _stop(server)
        log.close()


def _stop(server: subprocess.Popen) -> None:
    """Ctrl-C as a user would; then make sure no Airflow part outlives the test."""
    parts = psutil.Process(server.pid).children(recursive=True)
    os.killpg(server.pid, signal.SIGINT)
    _, alive = psutil.wait_procs([psutil.Process(server.pid), *parts], timeout=60)
    for process in alive:
        process.kill()
    server.wait()


def _run_path(run: dict) -> str:
    return f"/api/v2/dags/fusion_daily/dagRuns/{run['dag_run_id']}"


def _trigger(api: Api, day: str) -> dict:
    """``POST dagRuns`` for ``day`` with the ``run_date`` param, as the UI does."""
    return api.call(
        "POST",
        "/api/v2/dags/fusion_daily/dagRuns",
        {
            "dag_run_id": f"ui_{day}",
            "logical_date": f"{day}T00:00:00Z",
            "conf": {"run_date": day},
        },
    )


def _wait_for_run(api: Api, run: dict, server: subprocess.Popen) -> dict:
    """Poll the run until the scheduler finished it; returns its last state."""
    deadline = time.monotonic() + RUN_S
    while (run := api.call("GET", _run_path(run)))["state"] not in (
        "success",
        "failed",
    ):
        assert server.poll() is None, "airflow standalone exited during the run"
        assert time.monotonic() < deadline, f"run still {run['state']} after {RUN_S} s"
        time.sleep(5)
    return run


def test_a_run_triggered_over_rest_succeeds_and_writes_the_outputs(standalone):
    settings, api, server, home = standalone
    api.wait_for("/api/v2/monitor/health", STARTUP_S, server)
    password_file = home / "simple_auth_manager_passwords.json.generated"
    deadline = time.monotonic() + STARTUP_S
    while not password_file.exists():
        assert time.monotonic() < deadline, "no generated admin password"
        time.sleep(1)
    password = json.loads(password_file.read_text())["admin"]
    api.token = api.call(
        "POST", "/auth/token", {"username": "admin", "password": password}
    )["access_token"]

    dag = api.wait_for("/api/v2/dags/fusion_daily", STARTUP_S, server)
    assert dag["dag_id"] == "fusion_daily"
    api.call("PATCH", "/api/v2/dags/fusion_daily", {"is_paused": False})
    # Two days triggered together: max_active_runs=1 must serialise them.
    runs = [_trigger(api, day) for day in (DAY_BEFORE, DS)]
    finished = [_wait_for_run(api, run, server) for run in runs]
    for run in finished:
        tasks = api.call("GET", _run_path(run) + "/taskInstances")["task_instances"]
        states = {t["task_id"] + str(t.get("map_index", -1)): t for t in tasks}
        assert run["state"] == "success", {k: t["state"] for k, t in states.items()}
        assert {t["state"] for t in states.values()} == {"success"}
        assert {t["try_number"] for t in states.values()} == {1}  # no lock retries
    first, second = sorted(finished, key=lambda run: run["start_date"])
    assert first["end_date"] <= second["start_date"], "the two runs overlapped"
    assert "Could not set lock" not in (home / "standalone.log").read_text()

    report = io.read_json(settings.out_dir(DS) / "run_report.json")
    assert report["ds"] == DS
    assert report["write_back"]["applied"] is True
    plan = pd.read_csv(settings.out_dir(DS) / "replenishment_plan.csv")
    assert len(plan) == report["plan"]["order_lines"] > 0
