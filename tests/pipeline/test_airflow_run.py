"""``python -m pipeline.airflow_run --celery``: what it asks of its environment.

The parts it starts are run end to end in ``tests/e2e/test_airflow_celery.py``.
"""

from __future__ import annotations

import sys

import pytest

from pipeline.airflow_run import celery_env, require_celery_provider

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


def test_without_the_celery_provider_it_names_the_make_target(monkeypatch):
    monkeypatch.setitem(sys.modules, "airflow.providers.celery", None)
    with pytest.raises(SystemExit, match="make celery-install"):
        require_celery_provider()
