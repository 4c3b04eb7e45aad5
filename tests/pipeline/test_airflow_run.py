"""``python -m pipeline.airflow_run --celery``: what it asks of its environment.

The parts it starts are run end to end in ``tests/e2e/test_airflow_celery.py``.
"""

from __future__ import annotations

import importlib.metadata
import os
import signal
import time

import psutil
import pytest

from pipeline import airflow_run
from pipeline.airflow_run import (
    CELERY_PARTS,
    celery,
    celery_commands,
    celery_env,
    require_celery_provider,
)

PG = "postgresql+psycopg://airflow@db-host:5432/airflow"


@pytest.mark.parametrize("url", [None, "sqlite:////tmp/airflow.db"])
def test_celery_refuses_a_metadata_db_other_than_postgresql(url):
    env = {"AIRFLOW__CORE__PARALLELISM": "4"}
    if url:
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = url
    with pytest.raises(SystemExit, match="needs a PostgreSQL metadata database"):
        celery_env(env)


def test_celery_brokers_through_the_metadata_db_unless_told_otherwise():
    env = {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": PG, "AIRFLOW__CORE__PARALLELISM": "4"}
    assert celery_env(env) == {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CELERY__BROKER_URL": f"sqla+{PG}",
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "4",
    }
    own = env | {
        "AIRFLOW__CELERY__BROKER_URL": "redis://broker-host:6379/0",
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "8",
    }
    assert (
        celery_env(own)["AIRFLOW__CELERY__BROKER_URL"] == "redis://broker-host:6379/0"
    )
    assert celery_env(own)["AIRFLOW__CELERY__WORKER_CONCURRENCY"] == "8"


def test_several_workers_split_the_slots_and_have_names_of_their_own():
    env = {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": PG, "AIRFLOW__CORE__PARALLELISM": "4"}
    assert celery_env(env, workers=2)["AIRFLOW__CELERY__WORKER_CONCURRENCY"] == "2"
    assert celery_env(env, workers=8)["AIRFLOW__CELERY__WORKER_CONCURRENCY"] == "1"
    unset = env | {"AIRFLOW__CORE__PARALLELISM": "0"}  # Celery's own default
    assert celery_env(unset, workers=2)["AIRFLOW__CELERY__WORKER_CONCURRENCY"] == "0"
    workers = [c[1:] for c in celery_commands(3) if c[1:3] == ["celery", "worker"]]
    names = [w[w.index("--celery-hostname") + 1] for w in workers]
    assert names == ["worker0@%h", "worker1@%h", "worker2@%h"]
    # one log server per machine: the first worker's
    assert ["--skip-serve-logs" in w for w in workers] == [False, True, True]
    others = [c[1:] for c in celery_commands(3) if c[1:3] != ["celery", "worker"]]
    assert others == [list(p) for p in CELERY_PARTS if p != ("celery", "worker")]


@pytest.mark.parametrize(
    "argv", [["--celery-workers", "2"], ["--celery", "--celery-workers", "0"]]
)
def test_celery_workers_needs_celery_and_at_least_one(argv, capsys):
    with pytest.raises(SystemExit):
        airflow_run.main(argv)
    assert "--celery-workers N takes N >= 1, and only with --celery" in (
        capsys.readouterr().err
    )


def test_without_the_celery_provider_it_names_the_make_target(monkeypatch):
    def not_installed(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    with pytest.raises(SystemExit, match="make celery-install"):
        require_celery_provider()


# Stand-ins for the four parts: each leaves a child in its process group, as
# a worker leaves task processes; the pid files say who was started.
PART = "sleep 300 & echo $! > {0}.child; echo $$ > {0}.part; wait"


def _parts(tmp_path, last: str) -> list[list[str]]:
    """Two long-running parts, then ``last``, run once both have started."""
    long_running = [["sh", "-c", PART.format(tmp_path / f"p{i}")] for i in range(2)]
    both = " && ".join(f"[ -s {tmp_path / f'p{i}.part'} ]" for i in range(2))
    return [*long_running, ["sh", "-c", f"until {both}; do sleep 0.1; done; {last}"]]


def _started(tmp_path) -> list[int]:
    return [int(p.read_text()) for p in sorted(tmp_path.glob("p*.*")) if p.read_text()]


def _left_running(pids: list[int]) -> list[int]:
    """Of ``pids``, those still running a few seconds on (SIGKILL lands a moment
    after ``killpg`` returns; a killed orphan stays a zombie until reaped)."""

    def running(pid: int) -> bool:
        try:
            return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    for _ in range(50):
        if not any(map(running, pids)):
            return []
        time.sleep(0.2)
    return [pid for pid in pids if running(pid)]


@pytest.mark.parametrize(
    ("last", "code"), [("exit 3", 3), ("true", 1), ("kill -9 $$", 137)]
)
def test_a_part_that_stops_stops_the_others_and_is_an_error(tmp_path, last, code):
    assert celery({}, _parts(tmp_path, last)) == code
    started = _started(tmp_path)
    assert len(started) == 4  # two parts and their children
    assert _left_running(started) == []


def test_sigterm_stops_every_part_and_what_it_started(tmp_path, monkeypatch):
    monkeypatch.setattr(airflow_run, "STOP_S", 5)
    # the third part sends the SIGTERM, once the other two have started
    stop = f"kill -TERM {os.getpid()}; sleep 300"
    assert celery({}, _parts(tmp_path, stop)) == 0
    started = _started(tmp_path)
    assert len(started) == 4
    assert _left_running(started) == []
    assert signal.getsignal(signal.SIGTERM) is not signal.default_int_handler
