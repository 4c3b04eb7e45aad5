"""Benchmark one pipeline day on a demo market, with and without Airflow.

    python bench/day.py --size S

Generates the market in two fresh homes under ``var/bench/``, runs the same
day once through ``fusionloop run`` (the baseline: no orchestration) and once
through ``airflow dags test``, and records wall time, peak resident memory and
per-stage seconds. Writes ``bench/results/day_<size>.json`` and the table in
``BENCHMARKS.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

from sections import write_section  # bench/sections.py, beside this script

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# Runs a command and prints the peak RSS (KiB) of it and its children.
WRAP = (
    "import resource, subprocess, sys; "
    "rc = subprocess.run(sys.argv[1:]).returncode; "
    "print('MAXRSS', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
    "sys.exit(rc)"
)


def measure(cmd: list[str], env: dict) -> dict:
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", WRAP, *cmd], env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - start
    if out.returncode:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    rss = int(out.stdout.rsplit("MAXRSS", 1)[1].split()[0])
    return {"wall_s": round(wall, 1), "peak_rss_mb": round(rss / 1024)}


def run(size: str, days: int, mode: str) -> dict:
    home = REPO / "var" / "bench" / f"{size}-{mode}"
    shutil.rmtree(home, ignore_errors=True)
    env = dict(
        os.environ, FUSION_HOME=str(home), AIRFLOW_HOME=str(home / "airflow_home")
    )
    demo = [str(BIN / "fusionloop"), "demo", "--size", size, "--days", str(days)]
    gen = measure(demo, env)
    market = json.loads((home / "sim" / "market.json").read_text())
    ds = market["last_day"]
    if mode == "fusionloop_run":
        day = measure([str(BIN / "fusionloop"), "run", "--ds", ds], env)
    else:
        subprocess.run(
            [str(BIN / "airflow"), "db", "migrate"],
            env=env,
            check=True,
            capture_output=True,
        )
        day = measure([sys.executable, "-m", "pipeline.airflow_run", "--ds", ds], env)
    report = json.loads((home / "out" / ds / "run_report.json").read_text())
    return {
        "generate": gen,
        "day": day,
        "ds": ds,
        "stage_seconds": report["stage_seconds"],
        "order_lines": sum(
            s["input_rows"]
            for s in report["sources"].values()
            if s["file"].endswith("orders.csv")
        ),
        "plan": {
            k: report["plan"][k]
            for k in ("variables", "constraints", "build_s", "solve_s", "order_lines")
        },
        "forecast": report["forecast"]["metrics"],
    }


def table(result: dict) -> str:
    base, af = result["fusionloop_run"], result["airflow_dags_test"]
    stages = sorted(set(base["stage_seconds"]) | set(af["stage_seconds"]))
    rows = [
        f"### One day on the {result['size']} market ({result['days']} days of "
        f"history), {result['machine']}",
        "",
        "| | fusionloop run (baseline) | airflow dags test |",
        "| --- | ---: | ---: |",
        f"| wall time, s | {base['day']['wall_s']} | {af['day']['wall_s']} |",
        f"| peak RSS, MB | {base['day']['peak_rss_mb']} | {af['day']['peak_rss_mb']} |",
    ]
    rows += [
        f"| {s}, s | {base['stage_seconds'].get(s, '')} | "
        f"{af['stage_seconds'].get(s, '')} |"
        for s in stages
    ]
    share = 1 - base["day"]["wall_s"] / af["day"]["wall_s"]
    rows += [
        "",
        f"Airflow's share of the day's wall time: {share:.0%}. Market "
        f"generation: {base['generate']['wall_s']} s. LP: "
        f"{base['plan']['variables']:,} variables, built in "
        f"{base['plan']['build_s']} s, "
        f"solved in {base['plan']['solve_s']} s.",
        "",
    ]
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", default="S")
    parser.add_argument("--days", type=int, default=180)
    args = parser.parse_args()
    result = {
        "size": args.size,
        "days": args.days,
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}",
    }
    for mode in ("fusionloop_run", "airflow_dags_test"):
        result[mode] = run(args.size, args.days, mode)
    out = REPO / "bench" / "results" / f"day_{args.size}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    text = table(result)
    write_section(text, f"One day on the {args.size}")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
