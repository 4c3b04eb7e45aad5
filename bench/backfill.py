"""Backfill vs day-by-day: 7 days through `airflow backfill create` and the scheduler.

    python bench/backfill.py --size S --days 7 [--screenshot docs/grid.png]

The closed loop first: a demo market ends the day before the window and is
run once; then, day by day, the market steps to the next day reacting to the
day before's plan and promotions (``market.step``), and ``airflow dags test``
runs that day (the baseline). The backfill home starts from the same market,
also run for the day before the window, gets the drops the loop produced, and
runs the same days through Airflow as ``make airflow`` starts it (``airflow
standalone``: API server, scheduler, DAG processor, on a free port) with
``airflow backfill create --max-active-runs 1``, waiting on the REST API. Both
homes must then hold the same outputs (``pipeline.fingerprint``: every day's
CSVs and models, the lake, the last day's warehouse, the write-back).
``--screenshot``: headless Chromium photographs the DAG's grid view once the
backfill is done.

Writes ``bench/results/backfill_<size>.json`` and a section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pandas as pd
from sections import write_section  # bench/sections.py, beside this script

from pipeline import fingerprint, io, market
from pipeline.airflow_run import POOL, airflow_env
from pipeline.settings import Settings

REPO = Path(__file__).resolve().parent.parent
AIRFLOW = str(Path(sys.executable).parent / "airflow")
END = "2026-01-31"


def _env(home: Path, airflow_home: Path, **extra) -> dict:
    return airflow_env() | {
        "FUSION_HOME": str(home),
        "AIRFLOW_HOME": str(airflow_home),
        "FUSION_PII_KEY": "bench-backfill",
        **extra,
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


def one_by_one(settings: Settings, days: list[str]) -> float:
    """The closed loop, day by day: the market steps to each day reacting to
    the day before's plan and promotions, then ``airflow dags test`` runs it.
    Returns the seconds of the DAG runs alone."""
    env = _env(settings.fusion_home, settings.fusion_home / "airflow")
    seconds = 0.0
    for ds in days:
        market.step(settings, ds)
        seconds += dags_test(env, settings.fusion_home, ds)
    return seconds


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(base: str, path: str) -> dict:
    """GET an Airflow REST path (all-admins mode: no token needed)."""
    with urllib.request.urlopen(base + path, timeout=30) as response:
        return json.loads(response.read())


def _unpause(base: str) -> None:
    """The scheduler starts no run of a paused DAG, backfill runs included."""
    request = urllib.request.Request(
        base + "/api/v2/dags/fusion_daily",
        data=json.dumps({"is_paused": False}).encode(),
        method="PATCH",
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=30).close()


def _wait(what, seconds: float, server: subprocess.Popen):
    deadline = time.monotonic() + seconds
    while True:
        if server.poll() is not None:
            sys.exit("airflow standalone exited early")
        try:
            if result := what():
                return result
        except OSError:
            pass
        if time.monotonic() > deadline:
            sys.exit(f"timed out after {seconds} s")
        time.sleep(3)


def backfill(home: Path, days: list[str], screenshot: Path | None) -> float:
    """Seconds from ``airflow backfill create`` until the scheduler ran every day."""
    port = _free_port()
    env = _env(
        home,
        home / "airflow",
        AIRFLOW__API__PORT=str(port),
        AIRFLOW__API__BASE_URL=f"http://localhost:{port}",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS="True",
    )
    base = f"http://localhost:{port}"
    log = open(home / "standalone.log", "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [sys.executable, "-m", "pipeline.airflow_run", "--standalone"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait(lambda: _get(base, "/api/v2/dags/fusion_daily"), 600, server)
        start = time.perf_counter()
        _airflow(
            env,
            *("backfill", "create", "--dag-id", "fusion_daily"),
            *("--from-date", days[0], "--to-date", days[-1], "--max-active-runs", "1"),
        )
        # Unpausing also schedules today's run, which fails for want of data:
        # only the backfill's runs are counted.
        _unpause(base)
        runs_path = "/api/v2/dags/fusion_daily/dagRuns?run_type=backfill&limit=100"

        def finished():
            runs = _get(base, runs_path)["dag_runs"]
            states = [r["state"] for r in runs]
            if "failed" in states:
                sys.exit(f"a backfill run failed: {states}; log {home}/standalone.log")
            return len(runs) == len(days) and set(states) == {"success"}

        _wait(finished, 3600, server)
        seconds = time.perf_counter() - start
        if screenshot:
            grid_screenshot(f"{base}/dags/fusion_daily", screenshot)
        return seconds
    finally:
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()


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


def outputs(settings: Settings, days: list[str]) -> dict:
    """Every day's CSVs and models, the lake, the last warehouse, the write-back."""
    found = fingerprint.lake(settings) | fingerprint.warehouse(settings)
    found |= fingerprint.write_back(settings)
    for ds in days:
        report = io.read_json(settings.out_dir(ds) / "run_report.json")
        day = fingerprint.day(settings, ds, report["forecast"]["model_version"])
        found |= {k: v for k, v in day.items() if k.startswith(("out/", "registry/"))}
    return found


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
    daily = Settings.load(fusion_home=root / "daily", pii_key="bench-backfill")
    market.generate(daily, args.size, args.history_days, seed=7, end=f"{start:%F}")
    backfilled = daily.replace(fusion_home=root / "backfill")
    shutil.copytree(daily.fusion_home, backfilled.fusion_home)
    for home in (daily.fusion_home, backfilled.fusion_home):
        env = _env(home, home / "airflow")
        prepare(env)
        dags_test(env, home, f"{start:%F}")  # the day before the window, in both
    load = os.getloadavg()
    daily_s = one_by_one(daily, days)
    for ds in days:  # the drops the loop produced, as the source systems keep them
        shutil.copytree(daily.landing / ds, backfilled.landing / ds)
    backfill_s = backfill(backfilled.fusion_home, days, args.screenshot)
    differ = fingerprint.differences(outputs(daily, days), outputs(backfilled, days))
    result = {
        "size": args.size,
        "days": days,
        "one_by_one_dags_test_s": round(daily_s, 1),
        "backfill_scheduler_s": round(backfill_s, 1),
        "outputs_differ": differ,
        "load_average_1_5_15": [round(x, 2) for x in load],
    }
    out = REPO / "bench" / "results" / f"backfill_{args.size}.json"
    io.write_json(result, out)
    print(json.dumps(result, indent=2))
    write_section(_section(result))
    return 1 if differ else 0


def _section(r: dict) -> str:
    load = ", ".join(f"{x:.1f}" for x in r["load_average_1_5_15"])
    # (the market steps between the one-by-one runs; only the DAG runs count)
    same = "identical" if not r["outputs_differ"] else f"DIFFER: {r['outputs_differ']}"
    return (
        f"### Backfill vs one by one, {len(r['days'])} days on the {r['size']} market"
        f"\n\n`python bench/backfill.py --size {r['size']}` "
        f"({r['days'][0]} .. {r['days'][-1]}; load average at start {load})\n\n"
        "| way | wall time |\n| --- | --- |\n"
        f"| {len(r['days'])} x `airflow dags test` (baseline) | "
        f"{r['one_by_one_dags_test_s']:.0f} s |\n"
        "| `airflow backfill create --max-active-runs 1`, scheduler "
        f"(`airflow standalone`) | {r['backfill_scheduler_s']:.0f} s |\n\n"
        f"Outputs of the two ways: {same}.\n"
    )


if __name__ == "__main__":
    sys.exit(main())
