"""Backfill vs day-by-day: 7 days through `airflow backfill create` and the scheduler.

    python bench/backfill.py --size S --days 7 [--screenshot docs/grid.png]

Generates one demo market and copies it into two homes under ``var/bench/``.
The baseline runs the last ``--days`` days one by one with ``airflow dags
test`` (no scheduler). The backfill starts Airflow as ``make airflow`` does
(``airflow standalone``: API server, scheduler, DAG processor) on a free port
and runs ``airflow backfill create --max-active-runs 1`` over the same days,
waiting for the scheduler through the REST API. Both homes must then hold the
same outputs (``pipeline.fingerprint``: every day's CSVs and models, the lake,
the last day's warehouse, the write-back). With ``--screenshot`` headless
Chromium photographs the DAG's grid view once the backfill is done.

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


def one_by_one(home: Path, days: list[str]) -> float:
    """Seconds for ``airflow dags test`` of each day in turn."""
    env = _env(home, home / "airflow")
    _airflow(env, "db", "migrate")
    _airflow(env, "pools", "set", *POOL)
    start = time.perf_counter()
    for ds in days:
        log = home / "logs" / f"dags_test_{ds}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
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
    first = Settings.load(fusion_home=root / "daily", pii_key="bench-backfill")
    market.generate(first, size=args.size, days=args.history_days, seed=7, end=END)
    shutil.copytree(first.fusion_home, root / "backfill")
    second = first.replace(fusion_home=root / "backfill")
    days = [
        f"{d:%Y-%m-%d}"
        for d in pd.date_range(end=END, periods=args.days, freq="D").date
    ]
    load = os.getloadavg()
    daily_s = one_by_one(first.fusion_home, days)
    backfill_s = backfill(second.fusion_home, days, args.screenshot)
    differ = fingerprint.differences(outputs(first, days), outputs(second, days))
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
