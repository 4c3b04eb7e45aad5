"""Benchmark one pipeline day per market size, per stage, with and without Airflow.

    python bench/day.py --sizes S,M        # make bench (SIZES=S,M,L for all)

For each size, in a fresh home under ``var/bench/<size>/``: generate the
market's history, run its last day once (the initial load: every drop of the
history is extracted, validated and loaded), step the market one day, then
run that new day, the steady state being measured, four times: through
``fusionloop run`` (the baseline: no orchestration), through
``airflow dags test``, through ``airflow standalone``'s scheduler and through
the CeleryExecutor with one worker (each an idempotent re-run of the same
day, from the warehouse the first run started from, so it loads the same new
drops). Each run records wall time, its plan's hash and the peak RSS of the
process and its children (for the scheduler: every Airflow process summed,
sampled each second); each
stage its own seconds, peak RSS and rows in and out (``out/<ds>/_stages``).
Writes ``bench/results/scale.json`` and the table in ``BENCHMARKS.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import psutil
from day_home import (  # bench/day_home.py, beside this script
    BENCH_DAY,
    LAST_HISTORY_DAY,
    RUN_ID_FILE,
    STEPS,
    add_sittings,
    close_sitting,
    forget_day_outputs,
    heartbeat,
    keep_warehouse,
    restore_warehouse,
    resumable,
)
from scale_table import render  # bench/scale_table.py, beside this script
from sections import write_section  # bench/sections.py, beside this script

from pipeline import airflow_server, postgres

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HISTORY_DAYS = {"XS": 60, "S": 180, "M": 730, "L": 730}
# What a generated market consists of: the extracts, the simulator's state and
# the true demand (``fusionloop demo``).
MARKET_PARTS = ("landing", "sim", "truth")
# Seconds after which a pipeline run is stopped and recorded as such (0: none);
# set by --run-timeout-min.
RUN_TIMEOUT_S = 0
# Runs a command and prints the peak RSS (KiB) of it and its children.
WRAP = (
    "import resource, subprocess, sys; "
    "rc = subprocess.run(sys.argv[1:]).returncode; "
    "print('MAXRSS', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
    "sys.exit(rc)"
)


def measure(cmd: list[str], env: dict, log: Path, may_fail: bool = False) -> dict:
    """Run ``cmd``; its wall time (s) and peak RSS of it and its children (MB).

    ``may_fail``: a failed pipeline run is recorded with a ``note`` instead of
    ending the benchmark (on M the plan stage may stop at its time limit).
    """
    if may_fail and RUN_TIMEOUT_S:  # coreutils timeout stops the run's children too
        cmd = ["timeout", "-k", "30", str(RUN_TIMEOUT_S), *cmd]
    start = time.perf_counter()
    with open(log, "a") as out:
        done = subprocess.run(
            [sys.executable, "-c", WRAP, *cmd],
            env=env,
            stdout=subprocess.PIPE,
            stderr=out,
            text=True,
        )
    wall = time.perf_counter() - start
    rss = int(done.stdout.rsplit("MAXRSS", 1)[1].split()[0])
    measured = {"wall_s": round(wall, 1), "peak_rss_mb": round(rss / 1024)}
    if done.returncode:
        failure = f"{' '.join(cmd)} failed; see {log}"
        if not may_fail:
            sys.exit(f"{failure}:\n{done.stdout[-2000:]}")
        # what a stopped run measured is kept; its stages say how far it got
        return measured | {"note": f"failed after {measured['wall_s']} s ({log.name})"}
    return measured


def load_average() -> str:
    """The 1/5/15-minute load average: the machine may be shared."""
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def bench_size(
    size: str, save, market: Path | None = None, earlier: dict | None = None
) -> dict:
    """History, initial load, one more market day, the day run four times.

    ``save`` is called with the result so far after each step: an M or L run
    takes long, and what it measured before a stop is kept. ``market``: a home
    holding an already generated market of this size (see ``copy_market``).
    ``earlier``: the result saved by a run of this size that stopped (``save``
    writes it); its home is reused and only the steps it did not finish are
    run (see ``resumable``), so an L day can be measured over several sittings.
    """
    home = REPO / "var" / "bench" / size
    log = home / "bench.log"
    env = dict(
        os.environ, FUSION_HOME=str(home), AIRFLOW_HOME=str(home / "airflow_home")
    )
    result = resumable(earlier, home)
    if result is None:
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        run_id = f"{size}-{time.time_ns()}"
        (home / RUN_ID_FILE).write_text(run_id)
        result = {"size": size, "history_days": HISTORY_DAYS[size], "ds": BENCH_DAY}
        result["run_id"] = run_id
    elif all(step in result for step in STEPS):
        return result  # nothing left to measure (and no warehouse to copy)
    else:
        print(f"{size}: resuming after {', '.join(s for s in STEPS if s in result)}")

    def step(name: str, measure_it) -> None:
        if name not in result:
            result[name] = measure_it()
            save(result)

    fusionloop = str(BIN / "fusionloop")
    run = [fusionloop, "run", "--ds"]
    step("generate", lambda: copy_market(size, home, log, market))

    def initial_load() -> dict:
        # An L initial load outlasts a sitting; the pipeline goes on from the
        # drops it already loaded, and the sittings are added up.
        sittings = close_sitting(result.get("initial_load_sittings", []), home)
        result["initial_load_sittings"] = [*sittings, {"started": time.time()}]
        save(result)
        with heartbeat(home):
            measured = measure([*run, LAST_HISTORY_DAY], env, log, may_fail=True)
        record = day_record(measured, home, LAST_HISTORY_DAY)
        record = add_sittings(record, sittings, home)
        del result["initial_load_sittings"]
        return record

    step("initial_load", initial_load)
    step("step", lambda: market_step(home, env, log))
    # Each run of the bench day starts from the warehouse the first one starts
    # from, so its incremental build has the same new drops to load (not a
    # no-op re-run): one copy, put back before each of them (and before a run
    # resumed after a stop, which may have left the warehouse half-built).
    before_day = keep_warehouse(home)

    def from_before_day() -> None:
        restore_warehouse(home, before_day, keep=True)
        forget_day_outputs(home)

    def day_run(cmd: list[str]) -> dict:
        from_before_day()
        return day_record(measure(cmd, env, log, may_fail=True), home, BENCH_DAY)

    def dags_test() -> dict:
        subprocess.run(
            [str(BIN / "airflow"), "db", "migrate"],
            env=env,
            check=True,
            capture_output=True,
        )
        airflow = [sys.executable, "-m", "pipeline.airflow_run", "--ds", BENCH_DAY]
        return day_run(airflow)

    def scheduler(celery: bool) -> dict:
        from_before_day()
        return scheduler_day(home, celery=celery)

    step("fusionloop_run", lambda: day_run([*run, BENCH_DAY]))
    step("airflow_dags_test", dags_test)
    # Once more through the scheduler, where the mapped tasks (sources,
    # regions) run side by side as on a deployment.
    step("airflow_scheduler", lambda: scheduler(celery=False))
    # And on the CeleryExecutor (docs/scale-out.md): the tasks on a worker.
    step("airflow_celery", lambda: scheduler(celery=True))
    restore_warehouse(home, before_day)
    return result


def market_step(home: Path, env: dict, log: Path) -> dict:
    """``fusionloop step`` to the bench day, unless a run stopped after it did
    (a market steps each day once; it refuses a second)."""
    from pipeline.market.state import MarketState

    if f"{MarketState.load(home / 'sim').last_day:%Y-%m-%d}" == BENCH_DAY:
        return {"note": "stepped before a stop; not measured"}
    return measure([str(BIN / "fusionloop"), "step", "--ds", BENCH_DAY], env, log)


def scheduler_day(home: Path, celery: bool = False) -> dict:
    """The bench day triggered on ``airflow standalone`` (LocalExecutor,
    PostgreSQL metadata), or with ``celery`` on the CeleryExecutor's parts and
    one worker (broker and results in the same PostgreSQL): the run's own
    start-to-end seconds and the peak of the summed RSS of every Airflow
    process and task, sampled each second."""
    airflow_home = home / ("airflow_celery" if celery else "airflow_scheduler")
    with (
        postgres.throwaway() as metadata_db,
        airflow_server.running(home, airflow_home, metadata_db, celery=celery) as srv,
    ):
        srv.ready()
        with RssSampler(srv.process.pid) as rss:
            srv.trigger(BENCH_DAY, run_id=f"bench_{BENCH_DAY}")
            run = srv.wait_for_run(f"bench_{BENCH_DAY}", 3 * 3600)
        seconds = (
            pd.Timestamp(run["end_date"]) - pd.Timestamp(run["start_date"])
        ).total_seconds()
        measured = {"wall_s": round(seconds, 1), "peak_rss_mb": rss.peak_mb}
        if run["state"] != "success":
            measured["note"] = f"run {run['state']}; see {srv.log_path}"
        record = day_record(measured, home, BENCH_DAY)
        # stages ran side by side: their peaks add up, the sampler's is the total
        return record | {"peak_rss_mb": rss.peak_mb}


class RssSampler:
    """Peak of the summed resident memory of a process tree, sampled each second."""

    def __init__(self, pid: int):
        self.root, self.peak_mb, self._stop = psutil.Process(pid), 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(1.0):
            total = 0
            for proc in [self.root, *self.root.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                except psutil.Error:  # ended between listing and reading
                    pass
            self.peak_mb = max(self.peak_mb, round(total / 2**20))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def day_record(measured: dict, home: Path, ds: str) -> dict:
    """The run of ``ds`` with its stages; its peak RSS is the largest process's.

    Each stage resets its process's peak RSS to measure its own (see
    ``pipeline/resources.py``), which also resets what the kernel reports to
    the parent, so the run's peak is the larger of that and every stage's.
    """
    stages = stage_records(home, ds)
    peak = max(
        [measured["peak_rss_mb"], *(s["peak_rss_mb"] or 0 for s in stages.values())]
    )
    build = home / "out" / ds / "warehouse_build.json"
    plan = home / "out" / ds / "replenishment_plan.csv"
    return measured | {
        "peak_rss_mb": peak,
        # the runs of one day compare their plans by this
        "plan_sha256": hashlib.sha256(plan.read_bytes()).hexdigest()
        if plan.exists()
        else None,
        "load_average": load_average(),
        "stages": stages,
        "warehouse_build": json.loads(build.read_text()) if build.exists() else None,
    }


def copy_market(size: str, home: Path, log: Path, market: Path | None) -> dict:
    """Put the generated market of ``size`` into ``home``; returns its generation
    figures.

    Generating M's 730 days takes most of an hour here, so each size is
    generated once into ``var/bench/markets/<size>/`` and copied from there
    (delete that folder to measure generation again). ``market``: take the
    cache from a home where the same market was generated already (e.g. by
    another benchmark); its generation is then not measured here.
    """
    cache = REPO / "var" / "bench" / "markets" / size
    figures = cache / "generate.json"
    if market is not None and not figures.exists():
        shutil.rmtree(cache, ignore_errors=True)
        for part in MARKET_PARTS:
            shutil.copytree(market / part, cache / part)
        note = f"generated elsewhere, copied from {market}"
        figures.write_text(json.dumps({"note": note}))
    if not figures.exists():
        shutil.rmtree(cache, ignore_errors=True)
        cache.mkdir(parents=True)
        env = dict(os.environ, FUSION_HOME=str(cache))
        demo = [str(BIN / "fusionloop"), "demo", "--size", size]
        generated = measure([*demo, "--days", str(HISTORY_DAYS[size])], env, log)
        figures.write_text(json.dumps(generated | {"load_average": load_average()}))
    # Hard links: every writer replaces files atomically (pipeline/io.py), so
    # the cached market is never changed through them.
    for part in MARKET_PARTS:
        shutil.copytree(cache / part, home / part, copy_function=os.link)
    return json.loads(figures.read_text())


def stage_records(home: Path, ds: str) -> dict:
    """Per stage: seconds, peak RSS (MB) and rows in/out, from ``_stages``."""
    stages = {
        p.stem: json.loads(p.read_text())
        for p in sorted((home / "out" / ds / "_stages").glob("*.json"))
    }
    return {
        name: {
            "seconds": s["seconds"],
            "peak_rss_mb": s.get("peak_rss_mb"),
            **stage_rows(name, stages, home, ds),
        }
        for name, s in stages.items()
    }


def stage_rows(name: str, stages: dict, home: Path, ds: str) -> dict:
    """Rows a stage read and wrote, from what the stages returned."""
    result = stages[name]["result"]
    shard = name.split(".")[0]  # forecast_demand.<region>, plan_region.<region>
    if shard == "forecast_demand":
        return {"rows_in": result["rows"], "rows_out": result["rows"]}
    if shard == "plan_region":  # the first pass's variables
        return {"rows_in": result.get("variables", 0), "rows_out": None}
    if name.startswith(("extract_", "validate_")):
        source = name.split("_", 1)[1]
        days = stages.get(f"validate_{source}", {}).get("result", {})
        days = days.get("days_validated") or []
        rows_in = sum(d["input_rows"] for d in days) if days else None
        if name.startswith("extract_"):  # what it wrote, validation read
            return {"rows_in": rows_in, "rows_out": rows_in}
        return {
            "rows_in": rows_in,
            "rows_out": sum(d["accepted_rows"] for d in days) if days else None,
        }
    if name == "build_features":
        return {"rows_in": clean_lake_rows(home, ds), "rows_out": sum(result.values())}
    if name == "train_demand_model":
        return {"rows_in": result["metrics"]["training_rows"], "rows_out": None}
    if name == "forecast_demand":  # before the forecast was mapped over regions
        return {"rows_in": result["rows"], "rows_out": result["rows"]}
    if name == "plan_replenishment":  # its variables are the region shards'
        rows_in = 0 if "plan_region" in " ".join(stages) else result.get("variables")
        return {"rows_in": rows_in, "rows_out": result["order_lines"]}
    return {"rows_in": None, "rows_out": None}


def clean_lake_rows(home: Path, ds: str) -> int:
    """Accepted rows of every validated drop up to ``ds``: what the warehouse reads."""
    return sum(
        json.loads(p.read_text())["accepted_rows"]
        for p in (home / "lake/manifest").glob("*/ds=*.json")
        if p.stem[3:] <= ds
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="S", help="comma-separated: XS,S,M,L")
    parser.add_argument(
        "--market",
        type=Path,
        help="home of an already generated market (one size only): copy it "
        "instead of generating",
    )
    parser.add_argument(
        "--run-timeout-min",
        type=float,
        default=0,
        help="stop a pipeline run after this long and record how far it got",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="go on with a size's stopped run in its home: run only the steps "
        "scale.json does not have yet",
    )
    args = parser.parse_args()
    # A stop by SIGTERM or a closed terminal unwinds like Ctrl-C, so the
    # Airflow servers and their PostgreSQL are stopped, not left running the
    # day in a home a later --resume puts another warehouse into.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _exit_on_signal)
    global RUN_TIMEOUT_S
    RUN_TIMEOUT_S = round(args.run_timeout_min * 60)
    out = REPO / "bench" / "results" / "scale.json"
    done = json.loads(out.read_text()) if out.exists() else {}
    machine = f"{os.cpu_count()} cores, {_memory_gb()} GB"
    for size in args.sizes.split(","):

        def save(result, size=size):
            done[size] = result | {"machine": machine}
            out.write_text(json.dumps(done, indent=2) + "\n")

        earlier = done.get(size) if args.resume else None
        bench_size(size, save, args.market, earlier)
    text = render(done)
    write_section(text)
    print(text)
    return 0


def _exit_on_signal(signum, frame) -> None:
    raise SystemExit(128 + signum)


def _memory_gb() -> int:
    return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30)


if __name__ == "__main__":
    sys.exit(main())
