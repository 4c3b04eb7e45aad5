"""Backfill vs day-by-day: 7 days through an Airflow backfill and the scheduler.

    python bench/backfill.py --size S --days 7 [--screenshot docs/grid.png]

The closed loop first: a demo market ends the day before the window and is
run once; then, day by day, the market steps to the next day reacting to the
day before's plan and promotions (``market.step``), and ``airflow dags test``
runs that day (the baseline). The backfill home starts from the same market,
also run for the day before the window, gets the drops the loop produced, and
runs the same days through Airflow as ``make airflow`` starts it (``airflow
standalone``: API server, scheduler, DAG processor, on a free port; its
metadata in a throw-away PostgreSQL server, as in production: Airflow refuses
to create a backfill on SQLite while the scheduler writes) with
a backfill with ``max_active_runs`` 1 created and watched over the REST API
(``POST /api/v2/backfills``, as the UI's Backfill dialog does). Both
homes must then hold the same outputs (``pipeline.fingerprint``: every day's
CSVs and models, the lake, the last day's warehouse, the write-back).
``--screenshot``: headless Chromium photographs the DAG's grid view once the
backfill is done.

Writes ``bench/results/backfill.json`` and a section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from sections import write_section  # bench/sections.py, beside this script

from pipeline import airflow_server, fingerprint, io, market, postgres
from pipeline.airflow_run import POOL, airflow_env
from pipeline.settings import Settings

REPO = Path(__file__).resolve().parent.parent
AIRFLOW = str(Path(sys.executable).parent / "airflow")
END = "2026-01-31"
PII_KEY = "bench-backfill"


def _env(home: Path, airflow_home: Path) -> dict:
    return airflow_env() | {
        "FUSION_HOME": str(home),
        "AIRFLOW_HOME": str(airflow_home),
        "FUSION_PII_KEY": PII_KEY,
    }


def _airflow(env: dict, *args: str) -> None:
    subprocess.run([AIRFLOW, *args], env=env, check=True, capture_output=True)


def prepare(env: dict) -> None:
    _airflow(env, "db", "migrate")
    _airflow(env, "pools", "set", *POOL)


def dags_test(env: dict, home: Path, ds: str) -> float:
    """Seconds for ``airflow dags test fusion_daily <ds>``; exits on failure."""
    log = home / "logs" / f"dags_test_{ds}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with open(log, "w") as out:
        code = subprocess.run(
            [AIRFLOW, "dags", "test", "fusion_daily", ds],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        ).returncode
    if code:
        sys.exit(f"airflow dags test {ds} failed; log: {log}")
    return time.perf_counter() - start


def one_by_one(settings: Settings, days: list[str]) -> list[float]:
    """The closed loop, day by day: the market steps to each day reacting to
    the day before's plan and promotions, then ``airflow dags test`` runs it.
    Returns the seconds of each day's DAG run alone."""
    env = _env(settings.fusion_home, settings.fusion_home / "airflow")
    seconds = []
    for ds in days:
        market.step(settings, ds)
        seconds.append(dags_test(env, settings.fusion_home, ds))
    return seconds


def backfill(home: Path, days: list[str], screenshot: Path | None) -> float:
    """Seconds from creating the backfill until the scheduler ran every day."""
    # All-admins mode: the screenshot's browser gets in without a login form.
    with (
        postgres.throwaway() as metadata_db,
        airflow_server.running(
            home,
            home / "airflow",
            metadata_db,
            FUSION_PII_KEY=PII_KEY,
            AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS="True",
        ) as server,
    ):
        server.wait_for(f"/api/v2/dags/{airflow_server.DAG}")
        start = time.perf_counter()
        server.backfill(days[0], days[-1])
        # Unpausing also schedules today's run, which fails for want of data:
        # only the backfill's runs are counted.
        server.unpause()
        runs = server.wait_for_backfill(len(days), 3600 * len(days))
        if {run["state"] for run in runs} != {"success"}:
            sys.exit(f"a backfill run failed; log {server.log_path}")
        seconds = time.perf_counter() - start
        if screenshot:
            grid_screenshot(f"{server.base_url}/dags/{airflow_server.DAG}", screenshot)
        return seconds


def grid_screenshot(url: str, path: Path) -> None:
    """Headless Chromium's picture of ``url`` (the React UI needs time to load)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = tempfile.mkdtemp()
    subprocess.run(
        [
            "chromium",
            *("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic"),
            *("--no-first-run", "--disable-background-networking"),
            *("--disable-component-update", "--disable-sync", "--hide-scrollbars"),
            f"--user-data-dir={profile}",
            "--virtual-time-budget=20000",
            f"--screenshot={path}",
            "--window-size=1600,1000",
            url,
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    shutil.rmtree(profile, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", default="S")
    parser.add_argument("--history-days", type=int, default=180)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--screenshot", type=Path)
    args = parser.parse_args()
    root = REPO / "var" / "bench" / f"backfill-{args.size}"
    shutil.rmtree(root, ignore_errors=True)
    end = pd.Timestamp(END)
    start = end - pd.Timedelta(days=args.days)
    days = [f"{d:%Y-%m-%d}" for d in pd.date_range(start, end)][1:]
    daily = Settings.load(fusion_home=root / "daily", pii_key=PII_KEY)
    market.generate(daily, args.size, args.history_days, seed=7, end=f"{start:%F}")
    backfilled = daily.replace(fusion_home=root / "backfill")
    shutil.copytree(daily.fusion_home, backfilled.fusion_home)
    for home in (daily.fusion_home, backfilled.fusion_home):
        env = _env(home, home / "airflow")
        prepare(env)
        dags_test(env, home, f"{start:%F}")  # the day before the window, in both
    loads = {"one_by_one_start": _load()}
    daily_s = one_by_one(daily, days)
    for ds in days:  # the drops the loop produced, as the source systems keep them
        shutil.copytree(daily.landing / ds, backfilled.landing / ds)
    loads["backfill_start"] = _load()
    backfill_s = backfill(backfilled.fusion_home, days, args.screenshot)
    loads["end"] = _load()
    compared = fingerprint.days(daily, days), fingerprint.days(backfilled, days)
    differ = fingerprint.differences(*compared)
    result = {
        "size": args.size,
        "history_days": args.history_days,
        "days": days,
        "one_by_one_dags_test_s": round(sum(daily_s), 1),
        "one_by_one_per_day_s": [round(x, 1) for x in daily_s],
        "backfill_scheduler_s": round(backfill_s, 1),
        "outputs_compared": len(compared[0]),
        "outputs_differ": differ,
        "load_average_1_5_15": loads,
    }
    out = REPO / "bench" / "results" / "backfill.json"
    io.write_json(result, out)
    print(json.dumps(result, indent=2))
    write_section(_section(result))
    return 1 if differ else 0


def _load() -> list[float]:
    """The 1, 5 and 15 minute load averages (the machine is shared)."""
    return [round(x, 2) for x in os.getloadavg()]


def _section(r: dict) -> str:
    def load(at: str) -> str:
        return " / ".join(f"{x:.1f}" for x in r["load_average_1_5_15"][at])

    # (the market steps between the one-by-one runs; only the DAG runs count)
    same = "identical" if not r["outputs_differ"] else f"DIFFER: {r['outputs_differ']}"
    n = len(r["days"])
    return (
        f"### Backfill vs one by one, {n} days on the {r['size']} market"
        f"\n\n`python bench/backfill.py --size {r['size']} "
        f"--history-days {r['history_days']} --days {n}` "
        f"({r['history_days']} days of history, then {r['days'][0]} .. "
        f"{r['days'][-1]}). Wall time of the DAG runs; load average (1/5/15 min) "
        "when each way started.\n\n"
        "| way | wall time | load at start |\n| --- | --- | --- |\n"
        f"| {n} x `airflow dags test`, one by one (baseline) | "
        f"{r['one_by_one_dags_test_s']:.0f} s | {load('one_by_one_start')} |\n"
        "| backfill, `max_active_runs` 1 (REST API), scheduler "
        "(`airflow standalone`, PostgreSQL metadata DB) | "
        f"{r['backfill_scheduler_s']:.0f} s | "
        f"{load('backfill_start')} |\n\n"
        f"Load average at the end: {load('end')}. Outputs of the two ways "
        f"({r['outputs_compared']} fingerprints: lake files, warehouse tables, "
        f"every day's CSVs and models, the write-back): {same}.\n"
    )


if __name__ == "__main__":
    sys.exit(main())
