"""One real ``airflow dags test fusion_daily`` on a tiny market, run twice.

Nothing is mocked: Airflow, Great Expectations, DuckDB, LightGBM, PuLP/HiGHS
and SQLite all run for real.
"""

import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from models.replenishment import make_instance
from pipeline import fingerprint, io, market
from pipeline.planning import day_plan_config
from pipeline.regions import read_forecast
from pipeline.settings import Settings
from pipeline.sources import SOURCES, load_source
from pipeline.warehouse import query

DS = "2026-01-31"


def _run_dag(env: dict, settings: Settings, **extra) -> subprocess.CompletedProcess:
    env = env | {"FUSION_HOME": str(settings.fusion_home), "FUSION_PII_KEY": "e2e"}
    env |= extra
    return subprocess.run(
        [sys.executable, "-m", "pipeline.airflow_run", "--ds", DS],
        env=env,
        capture_output=True,
        text=True,
    )


def _dags_test(env: dict, settings: Settings) -> dict:
    out = _run_dag(env, settings)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "FusionLoop run for 2026-01-31" in out.stdout
    return io.read_json(settings.out_dir(DS) / "run_report.json")


@pytest.fixture(scope="module")
def runs(airflow_env, tmp_path_factory):
    settings = Settings.load(fusion_home=tmp_path_factory.mktemp("e2e_home"))
    market.generate(settings, size="XS", days=60, seed=5, end=DS)
    first = _dags_test(airflow_env, settings)
    files = {
        n: (settings.out_dir(DS) / n).read_bytes()
        for n in ("replenishment_plan.csv", "promotion_adjustments.csv")
    }
    files["fingerprint"] = fingerprint.day(
        settings, DS, first["forecast"]["model_version"]
    )
    second = _dags_test(airflow_env, settings)
    return settings, first, second, files


def test_rows_are_conserved_per_source(runs):
    settings, report, _, _ = runs
    for source in SOURCES:
        counts = report["sources"][source]
        landed = (
            settings.landing / DS / load_source(source, settings.expectations_dir).file
        )
        lines = len(landed.read_text().splitlines()) - (
            1 if landed.suffix == ".csv" else 0
        )
        assert counts["input_rows"] == lines, source
        assert (
            counts["input_rows"] == counts["accepted_rows"] + counts["quarantined_rows"]
        )
        assert counts["fallback"] is None
        days = counts["conservation"]  # the first run validates the whole history
        assert days and days[-1]["ds"] == DS
        assert all(
            d["input_rows"] == d["accepted_rows"] + d["quarantined_rows"] for d in days
        )
    assert len(report["sources"]["orders"]["conservation"]) == 60


def test_plan_respects_budget_and_capacity(runs):
    settings, report, _, _ = runs
    plan = pd.read_csv(
        settings.out_dir(DS) / "replenishment_plan.csv",
        parse_dates=["order_date", "arrival_date"],
    )
    assert len(plan) > 0
    assert plan.order_cost_eur.sum() <= settings.budget_eur + 1e-6
    short = {
        (m[0], m[2]): float(m[1].replace(",", ""))
        for m in re.findall(
            r"capacity of (\S+) short by ([\d,]+) units on (\S+)",
            " ".join(report["plan"]["binding"]),
        )
    }
    rounding = _rounding_allowance(settings, plan)
    for (loc, day), stock in _projected_stock(settings, plan).items():
        cap = settings_capacity(settings)[loc]
        allowed = cap + short.get((loc, day), 0) + 1.0 + rounding.get((loc, day), 0)
        assert stock <= allowed, (loc, day)


def _rounding_allowance(settings, plan) -> dict:
    """(location_id, day) -> units the indicative lines may add to the plan's
    own stock that day. Orders on the integer order days are the plan's to
    the unit; later days are continuous in the plan and their CSV lines are
    rounded to the nearest whole pack (README, "Plan"), each at most half a
    pack above what the plan holds within capacity."""
    if settings.plan_integer_order_days <= 0:  # every day integer: all exact
        return {}
    last_exact = pd.Timestamp(DS) + pd.Timedelta(days=settings.plan_integer_order_days)
    later = plan[plan.order_date > last_exact]
    half_pack = later.order_qty_units / later.order_cases / 2
    out: dict = {}
    for h in range(1, settings.horizon_days + 1):
        day = pd.Timestamp(DS) + pd.Timedelta(days=h)
        arrived = half_pack[later.arrival_date <= day].groupby(later.location_id).sum()
        for loc, units in arrived.items():
            out[(loc, f"{day:%Y-%m-%d}")] = float(units)
    return out


def settings_capacity(settings):
    locs = pd.read_csv(settings.landing / DS / "erp_locations.csv")
    return dict(zip(locs.location_id, locs.capacity_units, strict=True))


def _protected_demand(settings) -> dict:
    """(sku, location_id) -> daily units the plan protects, at its own service
    targets (the cost's critical ratio per row, read from the warehouse)."""
    position = query(settings, "mart_inventory_position")
    forecast = read_forecast(settings, DS)
    inst = make_instance(position, forecast, DS, day_plan_config(settings, forecast))
    keys = zip(inst.pos.sku, inst.pos.location_id, strict=True)
    return dict(zip(keys, inst.demand, strict=True))


def _projected_stock(settings, plan) -> dict:
    """End-of-day stock per location from inventory, open POs, plan, forecast."""
    inv = pd.read_csv(settings.landing / DS / "erp_inventory.csv")
    demand = _protected_demand(settings)
    out: dict = {}
    first_day = pd.Timestamp(DS) + pd.Timedelta(days=1)
    for row in inv.itertuples():
        stock = float(row.on_hand)
        po_day = None  # open POs already due arrive on the first planned day
        if isinstance(row.on_order_arrival, str):
            po_day = max(pd.Timestamp(row.on_order_arrival), first_day)
        daily = demand.get((row.sku, row.location_id), np.zeros(settings.horizon_days))
        mine = plan[(plan.sku == row.sku) & (plan.location_id == row.location_id)]
        for h in range(1, settings.horizon_days + 1):
            day = pd.Timestamp(DS) + pd.Timedelta(days=h)
            arrive = mine[mine.arrival_date == day].order_qty_units.sum()
            if po_day == day:
                arrive += row.on_order
            stock = max(0.0, stock + arrive - daily[h - 1])
            key = (row.location_id, f"{day:%Y-%m-%d}")
            out[key] = out.get(key, 0.0) + stock
    return out


def test_every_adjustment_names_a_real_promotion_or_sku(runs):
    settings, _, _, _ = runs
    adj = pd.read_csv(settings.out_dir(DS) / "promotion_adjustments.csv")
    promos = pd.read_json(
        settings.landing / DS / "marketing_promotions.jsonl", lines=True
    )
    skus = set(pd.read_csv(settings.landing / DS / "erp_products.csv").sku)
    assert set(adj[adj.action == "pause"].promo_id) <= set(promos.promo_id)
    assert set(adj.sku) <= skus
    assert set(adj.action) <= {"pause", "markdown"}


def test_write_back_holds_exactly_the_adjustments_after_a_rerun(runs):
    settings, first, second, files = runs
    adj = pd.read_csv(settings.out_dir(DS) / "promotion_adjustments.csv")
    with sqlite3.connect(settings.fusion_home / "marketing.db") as con:
        table = pd.read_sql("select * from promotion_adjustments", con)
        ledger = con.execute("select count(*) from fusion_writeback_ledger").fetchone()[
            0
        ]
    assert sorted(table.adjustment_id) == sorted(adj.adjustment_id)
    assert table.adjustment_id.is_unique and ledger == 1
    assert first["write_back"]["applied"] is True
    assert second["write_back"]["applied"] is False


def test_rerun_gives_byte_identical_outputs(runs):
    settings, first, second, files = runs
    for name in ("replenishment_plan.csv", "promotion_adjustments.csv"):
        assert (settings.out_dir(DS) / name).read_bytes() == files[name], name
    assert first["forecast"] == second["forecast"]
    assert np.isclose(first["plan"]["order_cost_eur"], second["plan"]["order_cost_eur"])


def test_rerun_leaves_the_same_lake_warehouse_model_and_write_back(runs):
    """Sorted row hashes of every lake file and warehouse table, the model's
    bytes and marketing's rows are those the first run left."""
    settings, first, second, files = runs
    assert second["forecast"]["model_version"] == first["forecast"]["model_version"]
    again = fingerprint.day(settings, DS, second["forecast"]["model_version"])
    assert fingerprint.differences(files["fingerprint"], again) == []
    assert any(k.startswith("warehouse/") for k in again)
    assert any(k.startswith("lake/clean/orders/") for k in again)
    assert f"registry/{DS}/meta.json" in again


def test_a_worker_killed_mid_write_back_then_rerun_equals_a_clean_run(
    runs, airflow_env, tmp_path
):
    """SIGKILL inside the write-back transaction (``FUSION_FAULT``), then the
    DAG run again for the same date: no half batch, the same outputs."""
    settings = Settings.load(fusion_home=tmp_path / "home")
    shutil.copytree(runs[0].landing, settings.landing)
    killed = _run_dag(airflow_env, settings, FUSION_FAULT=f"write_back:{DS}")
    assert killed.returncode != 0
    log = (settings.fusion_home / "logs" / f"airflow_dags_test_{DS}.log").read_text()
    assert "DagRun Finished" not in log  # the worker died, nobody finished the run
    with sqlite3.connect(settings.fusion_home / "marketing.db") as con:
        tables = {t for (t,) in con.execute("select name from sqlite_master")}
        counts = [
            con.execute(f"select count(*) from {t}").fetchone()[0] if t in tables else 0
            for t in ("promotion_adjustments", "fusion_writeback_ledger")
        ]
    assert counts == [0, 0]  # the transaction (and its create table) died with it
    report = _dags_test(airflow_env, settings)
    again = fingerprint.day(settings, DS, report["forecast"]["model_version"])
    assert fingerprint.differences(runs[3]["fingerprint"], again) == []
    assert fingerprint.temp_files(settings) == []


def test_a_broken_required_file_fails_the_dag_at_validation(
    runs, airflow_env, tmp_path
):
    settings = Settings.load(fusion_home=tmp_path / "home")
    shutil.copytree(runs[0].landing, settings.landing)
    orders = settings.landing / DS / "orders.csv"
    orders.write_bytes(orders.read_bytes()[:-25])  # cut off mid-line
    assert _run_dag(airflow_env, settings).returncode != 0
    log = (settings.fusion_home / "logs" / f"airflow_dags_test_{DS}.log").read_text()
    failed = log.split("Task failed with exception", 1)[1]
    assert "in validate_source" in failed
    assert (
        "BadFileError: orders is required for today's decisions and a drop is bad: "
        f"{orders}: truncated (rule: complete last line)"
    ) in failed
    assert "re-export the file and re-run the day" in failed
    assert "DagRun failed" in log
    _assert_failure_recorded_once(settings, log, orders)
    assert not settings.warehouse.exists()
    assert not (settings.lake / "clean" / "orders" / f"ds={DS}").exists()


def _assert_failure_recorded_once(settings: Settings, log: str, orders: Path):
    """Not retried (try 1), in the run report, and said last in the task's log."""
    report = io.read_json(settings.out_dir(DS) / "run_report.json")
    assert report["status"] == "failed"
    [failure] = report["failures"]
    assert failure["task"] == "ingest.validate_source"
    assert failure["input"] == f"run date {DS}, orders"
    assert failure["try_number"] == 1
    assert failure["error"].startswith("BadFileError: orders is required")
    assert "re-land the file" in failure["what_to_do"]
    task_log = log.split("Task failed with exception", 1)[1].split(
        "[DAG TEST] end task task_id=ingest.validate_source", 1
    )[0]
    last = [line for line in task_log.splitlines() if "[error" in line][-3:]
    assert "FusionLoop task ingest.validate_source failed on run date" in last[0]
    assert "What failed: BadFileError" in last[1] and str(orders) in last[1]
    assert "What to do: bad input file: fix or re-land the file" in last[2]


def test_no_raw_email_or_name_survives_the_run(runs, airflow_env):
    """PII is pseudonymised at extract: no e-mail or name reaches the lake, the
    quarantine, the warehouse, the marketing DB, the outputs or the logs.

    ``landing/`` (the source systems' own exports) and ``sim/`` (the simulated
    source systems' state) hold PII by definition and are not the pipeline's.
    """
    settings = runs[0]
    pii = re.compile(r"[\w.+-]+@example\.com|Customer \d+\b")
    homes = [settings.fusion_home, Path(airflow_env["AIRFLOW_HOME"]) / "logs"]
    scanned = 0
    for home in homes:
        for path in sorted(p for p in home.rglob("*") if p.is_file()):
            if {"landing", "sim"} & set(path.relative_to(home).parts[:1]):
                continue
            found = pii.search(_text_of(path))
            assert found is None, f"{path}: {found.group()}"
            scanned += 1
    assert scanned > 50


def _text_of(path: Path) -> str:
    """Every value a file holds as text (Parquet and databases decoded)."""
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pandas().astype(str).to_csv()
    if path.suffix == ".duckdb":
        with duckdb.connect(str(path), read_only=True) as con:
            tables = [t for (t,) in con.execute("show tables").fetchall()]
            return "".join(
                con.execute(f'select * from "{t}"').df().astype(str).to_csv()
                for t in tables
            )
    if path.suffix == ".db":
        with sqlite3.connect(path) as con:
            return "\n".join(con.iterdump())
    return path.read_bytes().decode("utf-8", errors="replace")
