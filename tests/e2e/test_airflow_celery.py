"""A day through Airflow's CeleryExecutor, as docs/scale-out.md deploys it.

``python -m pipeline.airflow_run --celery --celery-workers 2`` starts the API
server, the scheduler, the DAG processor and two Celery workers with the
CeleryExecutor, on a throw-away PostgreSQL server that is Airflow's metadata
DB, Celery's broker (kombu's SQLAlchemy transport) and its result backend. A
day triggered over REST runs every task, mapped ones included, on the workers,
both of them taking tasks from the queue; the outputs equal the same day run
without Airflow on a copy of the market. Nothing is mocked.
Its own server, not the shared ``served`` one (that one is the LocalExecutor).
"""

from __future__ import annotations

import shutil
import time

import psycopg
import pytest

from pipeline import airflow_server, daily, fingerprint, io, market, postgres
from pipeline.settings import Settings

DS = "2026-01-31"
PII_KEY = "e2e-celery"
RUN_S = 1200
WORKERS = 2


@pytest.fixture(scope="module")
def celery_day(tmp_path_factory) -> dict:
    """``DS`` through the CeleryExecutor, and the same day without Airflow."""
    root = tmp_path_factory.mktemp("celery")
    settings = Settings.load(fusion_home=root / "home", pii_key=PII_KEY)
    market.generate(settings, size="XS", days=60, seed=11, end=DS)
    shutil.copytree(settings.fusion_home, root / "clean")
    clean = settings.replace(fusion_home=root / "clean")
    version = daily.run_day(clean, DS)["forecast"]["model_version"]
    with (
        postgres.throwaway() as metadata_db,
        airflow_server.running(
            settings.fusion_home,
            root / "airflow",
            metadata_db,
            celery=True,
            celery_workers=WORKERS,
            FUSION_PII_KEY=PII_KEY,
            # Celery's extended results name each try's worker (a fresh
            # result table here; on an existing one, create_all adds no columns)
            AIRFLOW__CELERY__EXTRA_CELERY_CONFIG='{"result_extended": true}',
        ) as server,
    ):
        server.ready()
        wait_for_workers(server.log_path, WORKERS)
        server.trigger(DS, run_id=f"celery_{DS}")
        run = server.wait_for_run(f"celery_{DS}", RUN_S)
        tasks = server.task_instances(f"celery_{DS}")
        # Unpausing also started a run for today, whose tasks the worker runs
        # too (it fails for want of data): every run's task instances.
        every_run = server.call(
            "GET",
            f"/api/v2/dags/{airflow_server.DAG}/dagRuns/~/taskInstances?limit=200",
        )["task_instances"]
        with psycopg.connect(
            metadata_db.replace("postgresql+psycopg", "postgresql")
        ) as db:
            results = dict(
                db.execute(
                    "select status, count(*) from celery_taskmeta group by status"
                ).fetchall()
            )
            # Celery's extended results name the worker of each task try
            by_worker = dict(
                db.execute(
                    "select coalesce(split_part(worker, '@', 1), 'no worker'), "
                    "count(*) from celery_taskmeta group by 1"
                ).fetchall()
            )
        log = server.log_path.read_text()
    report = io.read_json(settings.out_dir(DS) / "run_report.json")
    return {
        "run": run,
        "tasks": tasks,
        "tries_of_every_run": sum(t["try_number"] for t in every_run),
        "celery_results": results,
        "by_worker": by_worker,
        "log": log,
        "clean": fingerprint.day(clean, DS, version, copied_from=settings.fusion_home),
        "by_celery": fingerprint.day(settings, DS, report["forecast"]["model_version"]),
        "model_version": (version, report["forecast"]["model_version"]),
    }


@pytest.mark.standalone
def test_every_task_of_the_day_ran_on_the_celery_worker(celery_day):
    tasks = celery_day["tasks"]
    states = {(t["task_id"], t.get("map_index", -1)): t["state"] for t in tasks}
    assert celery_day["run"]["state"] == "success", states
    assert set(states.values()) == {"success"}
    assert any(index >= 0 for _, index in states), "no mapped task ran"
    # The worker reports each task try it ran to Celery's result backend, one
    # row each; a try run anywhere else would leave none.
    assert (
        sum(celery_day["celery_results"].values()) == celery_day["tries_of_every_run"]
    )
    assert {t["try_number"] for t in tasks} == {1}
    # both workers took tasks from the queue: the scale-out is real
    assert set(celery_day["by_worker"]) == {"worker0", "worker1"}, celery_day[
        "by_worker"
    ]
    assert sum(celery_day["by_worker"].values()) == celery_day["tries_of_every_run"]


def wait_for_workers(log_path, workers: int, seconds: float = 300) -> None:
    """Until each worker's "ready" line is in the log: a task queued before a
    worker is up goes to the others, and the day could run on one alone."""
    deadline = time.monotonic() + seconds
    names = [f"worker{i}@" for i in range(workers)]
    while time.monotonic() < deadline:
        lines = log_path.read_text().splitlines()
        if all(any(n in line and "ready" in line for line in lines) for n in names):
            return
        time.sleep(2)
    raise AssertionError(f"not every worker of {names} ready in {seconds} s")


@pytest.mark.standalone
def test_the_celery_day_equals_the_day_without_airflow(celery_day):
    before, after = celery_day["model_version"]
    assert before == after
    assert fingerprint.differences(celery_day["clean"], celery_day["by_celery"]) == []
    assert any(key.startswith("warehouse/") for key in celery_day["by_celery"])
