"""Write-back: the day's promotion adjustments into marketing's database.

One transaction per run date: the day's batch replaces the day's rows (upsert
by ``adjustment_id``, rows of that day no longer proposed are removed), and a
ledger row records the batch's hash. A retry or re-run of the same batch is a
no-op; a changed batch replaces the old one whole. SQLite (the default) takes
the write lock up front (``BEGIN IMMEDIATE``) with a busy timeout; any other
SQLAlchemy URL (e.g. PostgreSQL) uses its native ``ON CONFLICT`` upsert.

Two writers of the same day at once (a retry racing a slow first attempt)
are serialised before anything is read: SQLite by its write lock, PostgreSQL
by a transaction-scoped advisory lock. The second writer then sees
the first one's ledger row and changes nothing. The tables are created inside
the same transaction, so even the first run's DDL cannot race.
"""

from __future__ import annotations

import hashlib

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import event

from models.promotions import COLUMNS
from pipeline.faults import crash_point

_LOCK = {"key": "fusion_writeback"}
_meta = sa.MetaData()
adjustments_table = sa.Table(
    "promotion_adjustments",
    _meta,
    sa.Column("adjustment_id", sa.String(200), primary_key=True),
    sa.Column("ds", sa.String(10), nullable=False, index=True),
    sa.Column("action", sa.String(20), nullable=False),
    sa.Column("promo_id", sa.String(100), nullable=False),
    sa.Column("sku", sa.String(100)),
    sa.Column("discount_pct", sa.Float),
    sa.Column("target_segment", sa.String(40)),
    sa.Column("start_date", sa.String(10)),
    sa.Column("end_date", sa.String(10)),
    sa.Column("expected_units", sa.Float),
    sa.Column("margin_effect_eur", sa.Float),
    sa.Column("reason", sa.Text),
    sa.Column("model_version", sa.String(40)),
)
ledger_table = sa.Table(
    "fusion_writeback_ledger",
    _meta,
    sa.Column("ds", sa.String(10), primary_key=True),
    sa.Column("batch_sha256", sa.String(64), nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("model_version", sa.String(40)),
)


def engine_for(url: str) -> sa.Engine:
    """An engine for ``url``; SQLite gets BEGIN IMMEDIATE and a busy timeout.

    PostgreSQL URLs in Airflow's form (``postgres://``, ``postgresql://``) are
    driven by psycopg 3.
    """
    if not url.startswith("sqlite"):
        return sa.create_engine(_psycopg_url(url))
    engine = sa.create_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _manual_transactions(dbapi_con, _record):
        dbapi_con.isolation_level = None  # let the "begin" hook below open it

    @event.listens_for(engine, "begin")
    def _begin_immediate(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def write_back(
    url: str, ds: str, adjustments: pd.DataFrame, model_version: str
) -> dict:
    """Apply the day's batch exactly once; returns what happened."""
    rows = _records(adjustments, model_version)
    digest = hashlib.sha256(repr(rows).encode()).hexdigest()
    engine = engine_for(url)
    try:
        with engine.begin() as con:
            _lock_writers(con)
            _meta.create_all(con)
            done = con.execute(
                sa.select(ledger_table.c.batch_sha256).where(ledger_table.c.ds == ds)
            ).scalar()
            if done == digest:
                return {
                    "applied": False,
                    "rows": len(rows),
                    "reason": "batch already applied",
                }
            ids = [r["adjustment_id"] for r in rows]
            con.execute(
                adjustments_table.delete().where(
                    (adjustments_table.c.ds == ds)
                    & adjustments_table.c.adjustment_id.not_in(ids)
                )
            )
            if rows:
                con.execute(_upsert(engine, adjustments_table, ["adjustment_id"]), rows)
            crash_point("write_back", ds)
            con.execute(
                _upsert(engine, ledger_table, ["ds"]),
                [
                    {
                        "ds": ds,
                        "batch_sha256": digest,
                        "rows": len(rows),
                        "model_version": model_version,
                    }
                ],
            )
    finally:
        engine.dispose()
    return {"applied": True, "rows": len(rows), "reason": "batch written"}


def _psycopg_url(url: str) -> str:
    for scheme in ("postgres://", "postgresql://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    return url


def _lock_writers(con: sa.Connection) -> None:
    """Serialise write-backs until the transaction ends (PostgreSQL).

    One lock for every day: write-backs are rare and short, and the first
    one's ``create table`` must not race another day's. SQLite needs nothing
    here: BEGIN IMMEDIATE already holds its write lock.
    """
    if con.dialect.name == "postgresql":
        con.execute(sa.text("select pg_advisory_xact_lock(hashtext(:key))"), _LOCK)


def _records(adjustments: pd.DataFrame, model_version: str) -> list[dict]:
    frame = adjustments[COLUMNS].drop_duplicates("adjustment_id", keep="last")
    frame = frame.sort_values("adjustment_id").astype(object)
    frame = frame.where(frame.notna(), None).assign(model_version=model_version)
    return frame.to_dict("records")


def _upsert(engine: sa.Engine, table: sa.Table, keys: list[str]):
    name = engine.dialect.name
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    elif name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        raise ValueError(f"write-back supports sqlite and postgresql, not {name}")
    stmt = insert(table)
    updates = {
        c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys
    }
    return stmt.on_conflict_do_update(index_elements=keys, set_=updates)


def read_adjustments(url: str, ds: str) -> pd.DataFrame:
    """The adjustments marketing holds for run date ``ds`` (empty if none)."""
    engine = engine_for(url)
    try:
        _meta.create_all(engine)
        with engine.connect() as con:
            result = con.execute(
                sa.select(adjustments_table)
                .where(adjustments_table.c.ds == ds)
                .order_by(adjustments_table.c.adjustment_id)
            )
            return pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    finally:
        engine.dispose()
