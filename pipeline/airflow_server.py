"""Airflow as ``make airflow`` starts it, driven the way an operator's script is.

``running()`` starts ``python -m pipeline.airflow_run --standalone`` (API
server, scheduler with the LocalExecutor, DAG processor, triggerer; metadata
DB in SQLite in its own Airflow home, or in a PostgreSQL server), or with
``celery=True`` its ``--celery`` (the CeleryExecutor's parts and a worker), on
a free port, in a process group of its own, and stops it on exit. ``Standalone``
then talks to it over the Airflow 3 REST API (token from ``/auth/token``):
unpause ``fusion_daily``, trigger a day, wait for runs, read task instances,
create a backfill. The end-to-end tests and ``bench/backfill.py`` start
Airflow through this one module. It imports no Airflow: HTTP only.
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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil

from pipeline.airflow_run import airflow_env

DAG = "fusion_daily"
STARTUP_S = 600  # a cold start on a loaded 2-core machine takes 1-3 min
FINISHED = ("success", "failed")
REQUEST_S = 60  # one REST call; the API server shares 2 cores with the tasks


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Standalone:
    """A running ``airflow standalone`` and the REST calls a script needs."""

    process: subprocess.Popen
    env: dict
    base_url: str
    token: str | None = None

    @property
    def airflow_home(self) -> Path:
        return Path(self.env["AIRFLOW_HOME"])

    @property
    def log_path(self) -> Path:
        return self.airflow_home / "standalone.log"

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        """One REST call; returns the JSON answer ({} when empty)."""
        auth = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        request = urllib.request.Request(
            self.base_url + path,
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Content-Type": "application/json"} | auth,
        )
        with urllib.request.urlopen(request, timeout=REQUEST_S) as response:
            return json.loads(response.read() or b"{}")

    def wait_for(self, path: str, seconds: float = STARTUP_S) -> dict:
        """GET ``path`` until it answers (the server may still be starting)."""
        deadline = time.monotonic() + seconds
        while True:
            self.assert_alive()
            try:
                return self.call("GET", path)
            except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{path} not ready: {error}") from error
                time.sleep(2)

    def assert_alive(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"airflow standalone exited; log: {self.log_path}")

    def login(self, seconds: float = STARTUP_S) -> None:
        """A bearer token for the generated admin, as a script gets one."""
        self.wait_for("/api/v2/monitor/health", seconds)
        passwords = self.airflow_home / "simple_auth_manager_passwords.json.generated"
        deadline = time.monotonic() + seconds
        while not passwords.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"no generated admin password in {passwords}")
            time.sleep(1)
        password = json.loads(passwords.read_text())["admin"]
        body = {"username": "admin", "password": password}
        self.token = self.call("POST", "/auth/token", body)["access_token"]

    def ready(self) -> None:
        """Logged in, ``fusion_daily`` parsed and unpaused: ready for triggers.
        Unpausing also starts a run for today, which fails for want of data."""
        self.login()
        self.wait_for(f"/api/v2/dags/{DAG}")
        self.unpause()

    def unpause(self) -> None:
        """The scheduler starts no run of a paused DAG, backfill runs included."""
        self.call("PATCH", f"/api/v2/dags/{DAG}", {"is_paused": False})

    def trigger(self, day: str, run_id: str) -> dict:
        """``POST dagRuns`` for ``day`` with the ``run_date`` param, as the UI does."""
        body = {
            "dag_run_id": run_id,
            "logical_date": f"{day}T00:00:00Z",
            "conf": {"run_date": day},
        }
        return self.call("POST", f"/api/v2/dags/{DAG}/dagRuns", body)

    def run(self, run_id: str) -> dict:
        return self.call("GET", f"/api/v2/dags/{DAG}/dagRuns/{run_id}")

    def runs(self, run_type: str) -> list[dict]:
        path = f"/api/v2/dags/{DAG}/dagRuns?run_type={run_type}&limit=100"
        return self.call("GET", path)["dag_runs"]

    def wait_for_run(self, run_id: str, seconds: float) -> dict:
        """Poll the run until the scheduler finished it; returns its last state."""
        return self._poll(
            lambda: self.run(run_id),
            lambda run: run["state"] in FINISHED,
            seconds,
            f"run {run_id}",
        )

    def wait_for_backfill(self, days: int, seconds: float) -> list[dict]:
        """Poll the backfill's runs until all ``days`` finished or one failed."""

        def done(runs: list[dict]) -> bool:
            states = {run["state"] for run in runs}
            return "failed" in states or (len(runs) == days and states <= {*FINISHED})

        return self._poll(lambda: self.runs("backfill"), done, seconds, "backfill")

    def _poll(self, get, done, seconds: float, what: str):
        """``get()`` every 5 s until ``done`` holds for its answer.

        A request that times out is asked again: on a busy machine the API
        server can take longer than a request's timeout to answer.
        """
        deadline = time.monotonic() + seconds
        answer = None
        while True:
            self.assert_alive()
            try:
                answer = get()
                if done(answer):
                    return answer
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} not done after {seconds} s: {answer}")
            time.sleep(5)

    def task_instances(self, run_id: str) -> list[dict]:
        """Every task instance of the run (mapped ones once per map index)."""
        path = f"/api/v2/dags/{DAG}/dagRuns/{run_id}/taskInstances?limit=100"
        return self.call("GET", path)["task_instances"]

    def backfill(self, first_day: str, last_day: str, attempts: int = 12) -> dict:
        """A backfill over the days, one run at a time: ``POST /api/v2/backfills``.

        The UI's Backfill dialog makes this call (``airflow backfill create``
        makes the same backfill). Creating one takes a write lock on the
        metadata DB; on SQLite beside a busy scheduler that lock is often
        taken, and Airflow answers 503 "Database is locked. Backfill creation
        is not supported on SQLite under concurrent access" (the CLI exits 1
        for the same reason). The tests and the benchmark therefore run the
        server on PostgreSQL, as production does (docs/scale-out.md); on
        SQLite (``make airflow``) a 503 is asked again a few seconds later. A
        backfill does not obey the DAG's
        ``max_active_runs``: without ``max_active_runs: 1`` it starts up to 10
        days at once.
        """
        body = {
            "dag_id": DAG,
            "from_date": f"{first_day}T00:00:00Z",
            "to_date": f"{last_day}T00:00:00Z",
            "max_active_runs": 1,
            "reprocess_behavior": "none",
        }
        for attempt in range(1, attempts + 1):
            try:
                return self.call("POST", "/api/v2/backfills", body)
            except urllib.error.HTTPError as error:
                if error.code != 503 or attempt == attempts:
                    raise
                time.sleep(5)


def metadata_db_env(url: str) -> dict:
    """Environment that points every Airflow part at the metadata DB ``url``.

    A ``postgresql+psycopg://`` URL serves both of Airflow's engines: the API
    server's async one too (psycopg 3 is async; Airflow would otherwise derive
    ``postgresql+asyncpg``, a driver we do not install).
    """
    return {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": url,
    }


@contextmanager
def running(
    fusion_home: Path,
    airflow_home: Path,
    metadata_db: str | None = None,
    celery: bool = False,
    celery_workers: int = 1,
    **extra_env,
) -> Iterator[Standalone]:
    """Airflow over ``fusion_home`` until the block ends: ``airflow standalone``,
    or the CeleryExecutor's parts.

    ``metadata_db``: SQLAlchemy URL of Airflow's metadata DB (a PostgreSQL
    server, e.g. ``pipeline.postgres.throwaway()``); default SQLite in
    ``airflow_home``. ``celery``: the CeleryExecutor's parts instead
    (``python -m pipeline.airflow_run --celery``; needs ``metadata_db``),
    with ``celery_workers`` workers.
    ``extra_env``: more environment for every Airflow part (and so every
    task), e.g. ``FUSION_PII_KEY`` or a fault switch.
    """
    port = free_port()
    env = airflow_env() | {
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__API__PORT": str(port),
        # the workers' log server (8793 by default): two servers side by side
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__API__BASE_URL": f"http://localhost:{port}",
        "FUSION_HOME": str(fusion_home),
        **(metadata_db_env(metadata_db) if metadata_db else {}),
        **extra_env,
    }
    airflow_home.mkdir(parents=True, exist_ok=True)
    with open(airflow_home / "standalone.log", "w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pipeline.airflow_run",
                *(
                    ["--celery", "--celery-workers", str(celery_workers)]
                    if celery
                    else ["--standalone"]
                ),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield Standalone(process, env, f"http://localhost:{port}")
        finally:
            stop(process)


def stop(process: subprocess.Popen) -> None:
    """Ctrl-C as a user would; then make sure no Airflow part outlives it."""
    try:
        parts = psutil.Process(process.pid).children(recursive=True)
        os.killpg(process.pid, signal.SIGINT)
    except (psutil.NoSuchProcess, ProcessLookupError):
        parts = []
    procs = [p for p in parts if p.is_running()]
    _, alive = psutil.wait_procs(procs, timeout=60)
    for part in alive:
        part.kill()
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
