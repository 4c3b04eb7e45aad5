"""What a bench home keeps between the runs and the sittings of ``bench/day.py``.

A size's day is measured in steps (``STEPS``); an L day outlasts a sitting,
so a stopped run can go on in its home (``resumable``): a stopped initial
load where the pipeline stopped, its sittings added up (``close_sitting``,
``add_sittings``), any other step from its start, from the warehouse as it
was before the day (``keep_warehouse``, ``restore_warehouse``,
``forget_day_outputs``).
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LAST_HISTORY_DAY = "2026-01-31"
BENCH_DAY = "2026-02-01"

# What bench_size measures, in order: a resumed run skips those it has.
STEPS = (
    "generate",
    "initial_load",
    "step",
    "fusionloop_run",
    "airflow_dags_test",
    "airflow_scheduler",
    "airflow_celery",
)
# Names a bench home with the run that made it, so a resumed run is sure the
# home on disk is the one its saved steps were measured in.
RUN_ID_FILE = "bench_run_id"
# Touched while an initial load runs (``heartbeat``).
HEARTBEAT = "bench_alive"


@contextmanager
def heartbeat(home: Path, every_s: float = 30.0) -> Iterator[None]:
    """Touch ``home/HEARTBEAT`` every ``every_s`` while the block runs, so a
    sitting stopped in a stage that writes nothing for a long time (training,
    a solve) still ends, for ``close_sitting``, at most ``every_s`` early."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(every_s):
            (home / HEARTBEAT).touch()

    (home / HEARTBEAT).touch()
    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def close_sitting(sittings: list[dict], home: Path) -> list[dict]:
    """``sittings`` of the initial load with the last one closed if a stop cut
    it short: its end is the newest file the run wrote (the log, a lake
    partition, a stage record, the ``heartbeat``), and it keeps the records
    of the stages it finished, which the next sitting overwrites with its
    quick re-runs."""
    if not sittings or "wall_s" in sittings[-1]:
        return sittings
    started = sittings[-1]["started"]
    stages = home / "out" / LAST_HISTORY_DAY / "_stages"
    finished = {
        p.stem: json.loads(p.read_text())
        for p in sorted(stages.glob("*.json"), key=lambda p: p.stat().st_mtime)
        if p.stat().st_mtime >= started
    }
    newest = max(
        (p.stat().st_mtime for p in home.rglob("*") if p.is_file()), default=started
    )
    # `fusionloop run` runs its stages one after another: the one under way
    # at the stop started when the last finished one wrote its record.
    last_finished = max(
        (p.stat().st_mtime for p in stages.glob("*.json")), default=started
    )
    closed = {
        "started": started,
        "wall_s": round(newest - started, 1),
        "end": "stopped; its end is the newest file the run wrote",
        "stages": finished,
        "unfinished_stage_s": round(newest - max(last_finished, started), 1),
    }
    return [*sittings[:-1], closed]


def add_sittings(record: dict, sittings: list[dict], home: Path) -> dict:
    """The initial load's ``record`` (its last sitting, read from ``home``)
    with the earlier ``sittings`` added up.

    A stage counts once, as the sitting that first finished it ran it; its
    re-runs in later sittings are the price of stopping (``resume_rerun_s``).
    The stage a stop cut short is the first, in the order the last sitting
    ran them (their records' times), that the stopped sitting did not finish.
    Extract and validate go on from the drops they loaded, so the seconds
    they ran before the stop (from file times, ``close_sitting``) are theirs;
    any other stage starts again, and those seconds were lost
    (``lost_to_stops_s``). Rows in and out of extract and validate are
    summed over every drop validated in any sitting, each drop once.
    """
    if not sittings:
        return record
    records = home / "out" / LAST_HISTORY_DAY / "_stages"
    last = {p.stem: json.loads(p.read_text()) for p in records.glob("*.json")}
    ran = sorted(
        record["stages"], key=lambda name: (records / f"{name}.json").stat().st_mtime
    )
    runs = [sitting["stages"] for sitting in sittings] + [last]
    stages: dict[str, dict] = {}
    rerun_s = 0.0
    for finished in runs:
        for name, raw in finished.items():
            if name not in record["stages"]:
                continue
            if name in stages:
                rerun_s += raw["seconds"]
                peaks = [stages[name]["peak_rss_mb"], raw.get("peak_rss_mb")]
                stages[name]["peak_rss_mb"] = max(p or 0 for p in peaks)
                continue
            stages[name] = record["stages"][name] | {
                "seconds": raw["seconds"],
                "peak_rss_mb": raw.get("peak_rss_mb"),
            }
    for name, stage in stages.items():
        stage.update(_rows_over_sittings(name, runs) or {})
    cut_short, lost_s = [], 0.0
    for sitting in sittings:
        unfinished = [name for name in ran if name not in sitting["stages"]]
        if not unfinished:
            continue
        name, before = unfinished[0], sitting.get("unfinished_stage_s", 0)
        cut_short.append(name)
        if name.startswith(("extract_", "validate_")):
            stages[name]["seconds"] = round(stages[name]["seconds"] + before, 3)
        else:
            lost_s += before
    peak = max(
        [record["peak_rss_mb"], *(s["peak_rss_mb"] or 0 for s in stages.values())]
    )
    wall = record["wall_s"] + sum(s["wall_s"] for s in sittings)
    return record | {
        "wall_s": round(wall, 1),
        "peak_rss_mb": peak,
        "stages": stages,
        "sittings": [s["wall_s"] for s in sittings] + [record["wall_s"]],
        "cut_short_by_a_stop": cut_short,
        "resume_rerun_s": round(rerun_s, 1),
        "lost_to_stops_s": round(lost_s, 1),
    }


def _rows_over_sittings(name: str, runs: list[dict]) -> dict | None:
    """Rows in and out of an extract or validate stage over every sitting's
    validated drops (a drop validated again after a stop counts once)."""
    if not name.startswith(("extract_", "validate_")):
        return None
    source = name.split("_", 1)[1]
    drops = {}
    for finished in runs:
        result = finished.get(f"validate_{source}", {}).get("result", {})
        for drop in result.get("days_validated") or []:
            drops[drop["ds"]] = drop
    if not drops:
        return None
    rows_in = sum(d["input_rows"] for d in drops.values())
    if name.startswith("extract_"):
        return {"rows_in": rows_in, "rows_out": rows_in}
    return {
        "rows_in": rows_in,
        "rows_out": sum(d["accepted_rows"] for d in drops.values()),
    }


def forget_day_outputs(home: Path) -> None:
    """Remove what ``day_record`` reads of the bench day, so a run that fails
    part-way is not recorded with an earlier run's stages or plan."""
    out = home / "out" / BENCH_DAY
    shutil.rmtree(out / "_stages", ignore_errors=True)
    for name in ("replenishment_plan.csv", "warehouse_build.json"):
        (out / name).unlink(missing_ok=True)


def resumable(earlier: dict | None, home: Path) -> dict | None:
    """What a stopped run measured, if it can go on in ``home``; else None.

    Only in the home that run made, and once the initial load has started
    (before it there is nothing worth keeping: the market is cached, see
    ``copy_market``). A stopped initial load goes on where the pipeline
    stopped (``add_sittings``); any other step that was under way when it
    stopped is run again from its start.
    """
    if not earlier or earlier.get("ds") != BENCH_DAY:
        return None
    if "initial_load" not in earlier and "initial_load_sittings" not in earlier:
        return None
    marker = home / RUN_ID_FILE
    if not marker.exists() or marker.read_text() != earlier.get("run_id"):
        return None
    if "note" in earlier.get("initial_load", {}):  # it failed or hit the time limit
        return None
    return {k: v for k, v in earlier.items() if k != "machine"}


def keep_warehouse(home: Path, name: str = "before_day") -> Path | None:
    """Copy the warehouse aside as ``warehouse.<name>.duckdb`` (None if there is
    none yet); a copy already there is kept, not overwritten (a resumed run's
    warehouse may be half-built)."""
    warehouse = home / "warehouse.duckdb"
    kept = home / f"warehouse.{name}.duckdb"
    if kept.exists():
        return kept
    if not warehouse.exists():
        return None
    partial = kept.with_suffix(".partial")  # whole or absent, if stopped here
    shutil.copyfile(warehouse, partial)
    os.replace(partial, kept)
    return kept


def restore_warehouse(home: Path, kept: Path | None, keep: bool = False) -> None:
    """Put the warehouse copied by ``keep_warehouse`` back in place; ``keep``:
    as a copy, so the kept file serves once more."""
    if kept is None:
        return
    if keep:
        shutil.copyfile(kept, home / "warehouse.duckdb")
    else:
        os.replace(kept, home / "warehouse.duckdb")
