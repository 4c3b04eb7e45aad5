"""Time the replenishment plan alone on a synthetic M-sized instance.

    python bench/lp.py --skus 2000 --locations 10 --horizon 14 --part lp,milp

The instance comes from the demo market's own master data generator (SKU
prices, supplier terms, location capacities; demand = base rate x location
scale, P90 a normal quantile above it; stock on hand a few days of demand).

Two parts, each with the previous method as its baseline in the same run:
- ``lp``: the LP relaxation (fractional packs, no binaries), built and solved
  whole through PuLP's own HiGHS interface (before) and one location at a
  time through the batch interface (now, ``solve_by_location``).
- ``milp``: the real plan (integer case packs, MOQ and order-cost binaries)
  under the solver time limit: whole, through PuLP's own interface with no
  starting plan (before: on M it stopped without any plan, so the pipeline
  went on to CBC), and per location from the rounded relaxation, with integer
  orders on every day and on the first day only.
Build and solve seconds are measured apart; the MILP rows carry the gap to
the best bound HiGHS proved. Writes ``bench/results/lp.json``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import subprocess
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pulp
from sections import write_section  # bench/sections.py, beside this script

from models import replenishment_start
from models.highs import solve_summary
from models.replenishment import PlanConfig, build_model, make_instance
from models.replenishment_blocks import solve_by_location
from pipeline.market import master

REPO = Path(__file__).resolve().parent.parent
DS = "2026-01-31"
WAIT_FACTOR = 2  # the previous method's run is stopped this many time limits in


def synthetic_instance(skus: int, locations: int, horizon: int, seed: int = 7):
    """(position, forecast) frames for ``skus`` x ``locations`` over ``horizon``."""
    rng = np.random.default_rng(seed)
    products = master.make_products(rng, skus)
    locs = master.make_locations(rng, locations, products)
    lam = np.outer(products.base_rate, locs.demand_scale)
    s, loc = np.indices(lam.shape)
    s, loc = s.ravel(), loc.ravel()
    position = pd.DataFrame(
        {
            "sku": products.sku.to_numpy()[s],
            "location_id": locs.location_id.to_numpy()[loc],
            "on_hand_units": np.floor(lam.ravel() * rng.uniform(0, 12, s.size)),
            "on_order_units": 0,
            "on_order_arrival_date": pd.NaT,
            "unit_cost_eur": products.unit_cost.to_numpy()[s],
            "list_price_eur": products.list_price.to_numpy()[s],
            "lead_time_days": products.lead_time_days.to_numpy()[s],
            "moq_units": products.moq.to_numpy()[s],
            "case_pack_units": products.case_pack.to_numpy()[s],
            "capacity_units": locs.capacity_units.to_numpy()[loc],
            "holding_cost_eur_per_unit_day": locs.holding_cost_per_unit_day.to_numpy()[
                loc
            ],
        }
    )
    p50 = lam.ravel()[:, None] * rng.gamma(4.0, 0.25, (s.size, horizon))
    forecast = pd.DataFrame(
        {
            "sku": np.repeat(position.sku.to_numpy(), horizon),
            "location_id": np.repeat(position.location_id.to_numpy(), horizon),
            "horizon_day": np.tile(np.arange(1, horizon + 1), s.size),
            "p50_units": p50.ravel(),
            "p90_units": (p50 + 1.28 * np.sqrt(p50)).ravel(),
        }
    )
    return position, forecast


def time_whole(position, forecast, cfg: PlanConfig, method: str) -> dict:
    """Before: the whole model through PuLP's own HiGHS interface, no start.

    Run in a child process stopped at ``WAIT_FACTOR`` x the time limit: on M
    the MILP's HiGHS run went on for more than 10 min past its 120 s limit.
    """
    found = multiprocessing.get_context("fork").Queue()
    child = multiprocessing.get_context("fork").Process(
        target=_time_whole, args=(position, forecast, cfg, method, found)
    )
    t0 = time.perf_counter()
    child.start()
    build = found.get()  # the child reports its build before it solves
    wait = WAIT_FACTOR * cfg.time_limit_s
    child.join(max(wait - (time.perf_counter() - t0 - build["build_s"]), 1.0))
    if child.is_alive():
        child.kill()
        child.join()
        return build | {
            "status": f"no answer {wait:.0f} s after the build (stopped)",
            "solve_s": round(time.perf_counter() - t0 - build["build_s"], 2),
            "solve_cpu_s": None,
            "objective_eur": None,
        }
    return found.get()


def _time_whole(position, forecast, cfg: PlanConfig, method: str, found) -> None:
    t0, c0 = time.perf_counter(), time.process_time()
    prob, _ = build_model(make_instance(position, forecast, DS, cfg), cfg)
    build_s, build_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    found.put(
        {
            "method": method,
            "build_s": round(build_s, 2),
            "build_cpu_s": round(build_cpu_s, 2),
            "variables": len(prob.variables()),
            "constraints": len(prob.constraints),
        }
    )
    solver = pulp.HiGHS(
        msg=False, timeLimit=cfg.time_limit_s, gapRel=cfg.mip_gap, threads=cfg.threads
    )
    status = pulp.LpStatus[prob.solve(solver)]
    summary = solve_summary(prob)
    found.put(
        {
            "method": method,
            "status": f"{status} ({summary['highs_status']})",
            "build_s": round(build_s, 2),
            "solve_s": round(time.perf_counter() - t0 - build_s, 2),
            "build_cpu_s": round(build_cpu_s, 2),
            "solve_cpu_s": round(time.process_time() - c0 - build_cpu_s, 2),
            "variables": len(prob.variables()),
            "constraints": len(prob.constraints),
            "objective_eur": _objective(prob, status),
            "mip_gap": summary.get("mip_gap"),
            "bound_eur": summary.get("bound_eur"),
        }
    )


def _objective(prob, status: str):
    value = prob.objective.value() if status == "Optimal" else None
    return None if value is None else round(float(value), 2)


def time_blocks(position, forecast, cfg: PlanConfig, method: str) -> dict:
    """Now: one location at a time, batch transfer, MILP from a rounded start."""
    t0, c0 = time.perf_counter(), time.process_time()
    _, report = solve_by_location(position, forecast, DS, cfg)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {
        "method": method,
        "status": f"{report['status']} ({report['highs_status']})",
        "build_s": report["build_s"],
        "solve_s": round(wall - report["build_s"], 2),
        "build_cpu_s": report["build_cpu_s"],
        "solve_cpu_s": round(cpu - report["build_cpu_s"], 2),
        "variables": report["variables"],
        "constraints": report["constraints"],
        "objective_eur": report["objective_eur"],
        "mip_gap": report.get("mip_gap"),
        "bound_eur": report.get("bound_eur"),
        "second_pass": "budget_split" in report,
    }


def runs_for(part: str, position, forecast, base: PlanConfig, old=None) -> list:
    """The part's methods, the previous one first; ``old``: that previous
    method's run from an earlier bench, to keep instead of running it again."""
    if part == "lp":
        cfg = replace(base, integer=False, order_cost_eur=0.0)
        return [
            time_whole(position, forecast, cfg, "whole, PuLP's HiGHS interface"),
            time_blocks(position, forecast, cfg, "per location, batch interface"),
        ]
    if part == "start":
        cfg = replace(base, integer_order_days=1)
        with nearest_rounding_start():
            before = time_blocks(position, forecast, cfg, "nearest rounding")
        return [before, time_blocks(position, forecast, cfg, "cheapest per SKU")]
    return [
        old or time_whole(position, forecast, base, "whole, no start"),
        time_blocks(position, forecast, base, "per location, rounded start"),
        time_blocks(
            position,
            forecast,
            replace(base, integer_order_days=1),
            "per location, rounded start, integer day 1 only",
        ),
    ]


@contextmanager
def nearest_rounding_start():
    """The MILP start as it was before 2026-12-06: the relaxation rounded to the
    nearest pack (MOQ or nothing), for every SKU alike."""
    saved = replenishment_start.best_rounding
    replenishment_start.best_rounding = replenishment_start.rounded_packs
    try:
        yield
    finally:
        replenishment_start.best_rounding = saved


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skus", type=int, default=2000)
    ap.add_argument("--locations", type=int, default=10)
    ap.add_argument("--horizon", type=int, default=14)
    ap.add_argument("--time-limit", type=float, default=120.0, help="MILP, s")
    ap.add_argument("--part", default="lp,milp")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--keep-previous",
        action="store_true",
        help="keep the previous method's MILP run from bench/results/lp.json",
    )
    args = ap.parse_args()
    position, forecast = synthetic_instance(args.skus, args.locations, args.horizon)
    base = PlanConfig(
        horizon_days=args.horizon,
        budget_eur=float(position.unit_cost_eur.mean() * len(position) * 20),
        time_limit_s=args.time_limit,
        threads=args.threads,
    )
    out = REPO / "bench" / "results" / "lp.json"
    old = json.loads(out.read_text()) if out.exists() else {}
    result = {
        "sku_locations": len(position),
        "horizon_days": args.horizon,
        "threads": args.threads,
        "time_limit_s": args.time_limit,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "parts": old.get("parts", {}),
    }
    for part in args.part.split(","):
        load = _load()
        before = result["parts"].get(part, {}).get("runs", [None])[0]
        runs = runs_for(part, position, forecast, base, args.keep_previous and before)
        for r in runs:
            print(json.dumps(r))
        result["parts"][part] = {"runs": runs, "load": [load, _load()]}
    out.write_text(json.dumps(result, indent=2) + "\n")
    text = table(result, args)
    write_section(text, "LP alone on a synthetic M")
    print(text)


def _load() -> str:
    return (
        subprocess.run(["uptime"], capture_output=True, text=True)
        .stdout.split("load average:")[-1]
        .strip()
    )


TITLES = {
    "lp": "the LP relaxation (fractional packs, no binaries)",
    "milp": "the real plan (integer case packs, MOQ and order-cost binaries)",
    "start": "the real plan from two starts (integer orders on day 1, as the "
    "pipeline plans): the relaxation rounded to the nearest pack (before) and "
    "per SKU the cheapest of four roundings (now)",
}


def table(result: dict, args) -> str:
    rows = [
        f"### LP alone on a synthetic M market: {result['sku_locations']:,} "
        f"SKU-locations x {result['horizon_days']} days",
        "",
        f"`python bench/lp.py --skus {args.skus} --locations {args.locations} "
        f"--horizon {args.horizon} --part {','.join(result['parts'])}` "
        f"({result['cpus']} cores shared "
        f"with other work, HiGHS threads {result['threads']}, MILP time limit "
        f"{result['time_limit_s']:.0f} s). Build = frames to PuLP model; solve = "
        "everything after it (relaxation for the start, transfer to HiGHS, HiGHS, "
        "reading the plan back); CPU = seconds of the process, all threads: "
        "the machine was shared, so wall time includes waiting for a core. The "
        "first row of each part is the previous method.",
    ]
    for part, got in result["parts"].items():
        rows += [
            "",
            f"{TITLES[part]}; load average at start / end: "
            f"{got['load'][0]} / {got['load'][1]}",
            "",
            "| method | status | build, s (CPU) | solve, s (CPU) | variables | "
            "constraints | objective, EUR | MIP gap | bound, EUR |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for r in got["runs"]:
            rows.append(
                f"| {r['method']} | {r['status']} | {_num(r['build_s'], 2)} "
                f"({_num(r['build_cpu_s'], 2)}) | {_num(r['solve_s'], 2)} "
                f"({_num(r['solve_cpu_s'], 2)}) | {_num(r['variables'])} | "
                f"{_num(r['constraints'])} | {_num(r['objective_eur'])} | "
                f"{_pct(r.get('mip_gap'))} | {_num(r.get('bound_eur'))} |"
            )
        rows += ["", verdict(part, got["runs"], result["time_limit_s"])]
    return "\n".join(rows) + "\n"


def verdict(part: str, runs: list[dict], limit_s: float) -> str:
    """The part's target in one sentence, from the last (current) run."""
    now = runs[-1] if part == "milp" else runs[1]
    total = (now["build_s"] or 0) + (now["solve_s"] or 0)
    if part == "start":
        was = runs[0]
        return (
            f"Solver part {now['solve_s']:.1f} s (before {was['solve_s']:.1f} s), "
            f"objective {_num(now['objective_eur'])} EUR (before "
            f"{_num(was['objective_eur'])}), gap {_pct(now.get('mip_gap'))} "
            f"(before {_pct(was.get('mip_gap'))})."
        )
    if part == "lp":
        met = total <= 30 and now["build_s"] <= now["solve_s"]
        return (
            f"Target: built and solved in <= 30 s with build <= solve. Per "
            f"location: {now['build_s']:.1f} + {now['solve_s']:.1f} = "
            f"{total:.1f} s ({'met' if met else 'not met'}; the whole model "
            f"{(runs[0]['build_s'] or 0) + (runs[0]['solve_s'] or 0):.1f} s)."
        )
    gap = "no gap" if now.get("mip_gap") is None else f"gap {now['mip_gap']:.1%}"
    return (
        f"Target: the real plan within its {limit_s:.0f} s time limit, with the gap "
        f"it reports. Current method: solver part {now['solve_s']:.1f} s after a "
        f"{now['build_s']:.1f} s build, {gap}; the previous method: "
        f"{runs[0]['status']}."
    )


def _num(x, digits: int = 0) -> str:
    return "-" if x is None else f"{x:,.{digits}f}"


def _pct(x) -> str:
    return "-" if x is None else f"{x:.1%}"


if __name__ == "__main__":
    main()
