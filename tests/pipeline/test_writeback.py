"""Exactly-once write-back, on SQLite and on a real PostgreSQL server."""

import threading
import uuid

import pandas as pd
import pytest
import sqlalchemy as sa

from models.promotions import COLUMNS
from pipeline.settings import Settings
from pipeline.writeback import engine_for, read_adjustments, write_back


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    """An empty marketing database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'm.db'}"
    server = request.getfixturevalue("postgres_url")
    name = f"m_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as con:
        con.execute(sa.text(f"create database {name}"))
    admin.dispose()
    return server.rsplit("/", 1)[0] + f"/{name}"


def _batch(ids, ds="2026-01-31", action="pause"):
    return pd.DataFrame(
        [
            {c: None for c in COLUMNS}
            | {
                "adjustment_id": f"{ds}:pause:{i}",
                "ds": ds,
                "action": action,
                "promo_id": i,
                "sku": "S",
                "discount_pct": 0.1,
                "reason": "r",
            }
            for i in ids
        ],
        columns=COLUMNS,
    )


def _ledger(url):
    engine = engine_for(url)
    with engine.connect() as con:
        rows = con.execute(
            sa.text("select ds, rows, model_version from fusion_writeback_ledger")
        ).fetchall()
    engine.dispose()
    return sorted(tuple(r) for r in rows)


def test_same_batch_twice_is_written_once(url):
    first = write_back(url, "2026-01-31", _batch(["P1", "P2"]), "v1")
    second = write_back(url, "2026-01-31", _batch(["P1", "P2"]), "v1")
    assert first["applied"] and not second["applied"]
    assert read_adjustments(url, "2026-01-31").promo_id.tolist() == ["P1", "P2"]


def test_changed_batch_replaces_the_day_and_leaves_other_days(url):
    write_back(url, "2026-01-30", _batch(["P9"], ds="2026-01-30"), "v1")
    write_back(url, "2026-01-31", _batch(["P1", "P2"]), "v1")
    write_back(url, "2026-01-31", _batch(["P2", "P3"]), "v2")
    assert read_adjustments(url, "2026-01-31").promo_id.tolist() == ["P2", "P3"]
    assert read_adjustments(url, "2026-01-30").promo_id.tolist() == ["P9"]
    assert _ledger(url) == [("2026-01-30", 1, "v1"), ("2026-01-31", 2, "v2")]


def test_empty_batch_clears_the_day(url):
    write_back(url, "2026-01-31", _batch(["P1"]), "v1")
    write_back(url, "2026-01-31", _batch([]), "v1")
    assert read_adjustments(url, "2026-01-31").empty


def test_a_crash_midway_leaves_the_previous_state(url):
    write_back(url, "2026-01-31", _batch(["P1", "P2"]), "v1")
    # P3's action is missing: the upsert fails after the day's old rows were
    # deleted inside the transaction, which must roll back whole.
    broken = pd.concat([_batch(["P3"]), _batch(["P4"], action=None)])
    with pytest.raises(sa.exc.IntegrityError):
        write_back(url, "2026-01-31", broken, "v2")
    assert read_adjustments(url, "2026-01-31").promo_id.tolist() == ["P1", "P2"]
    assert _ledger(url) == [("2026-01-31", 2, "v1")]


def _race(url, batches) -> list[dict]:
    """Write ``batches`` of one day at the same moment from as many threads."""
    start, results = threading.Barrier(len(batches)), [None] * len(batches)

    def write(i):
        start.wait()
        results[i] = write_back(url, "2026-01-31", batches[i], "v1")

    threads = [threading.Thread(target=write, args=(i,)) for i in range(len(batches))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_concurrent_double_write_of_the_same_day_applies_once(url):
    batch = _batch(["P1", "P2", "P3"])
    results = _race(url, [batch, batch])
    assert sorted(r["applied"] for r in results) == [False, True]
    assert read_adjustments(url, "2026-01-31").promo_id.tolist() == ["P1", "P2", "P3"]
    assert len(_ledger(url)) == 1


def test_concurrent_different_batches_leave_one_of_them_whole(url):
    results = _race(url, [_batch(["P1", "P2"]), _batch(["P3"])])
    assert all(r["applied"] for r in results)
    held = read_adjustments(url, "2026-01-31")
    assert held.promo_id.tolist() in (["P1", "P2"], ["P3"])
    (ledger,) = _ledger(url)
    assert ledger[1] == len(held)


def test_marketing_url_comes_from_the_environment_or_airflow(monkeypatch):
    monkeypatch.delenv("FUSION_MARKETING_DB_URL", raising=False)
    url = "postgres://u:pw@db:5432/mkt"  # fake credential
    monkeypatch.setenv("AIRFLOW_CONN_FUSION_MARKETING", url)
    with_password = Settings.load()
    assert with_password.marketing_url == url
    assert "pw" not in repr(with_password)  # the password never reaches a log
    monkeypatch.setenv("FUSION_MARKETING_DB_URL", "sqlite:///x.db")
    assert Settings.load().marketing_url == "sqlite:///x.db"
