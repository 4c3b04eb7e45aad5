"""Time the replenishment LP alone on a synthetic M-sized instance.

    python bench/lp.py --skus 2000 --locations 10 --horizon 14

The instance comes from the demo market's own master data generator (SKU
prices, supplier terms, location capacities; demand = base rate x location
scale, P90 a normal quantile above it; stock on hand a few days of demand).
It is the LP relaxation of the plan (fractional packs, no binaries): the part
of the model whose size grows with SKU-locations x days. Each HiGHS method is
timed on the same built model: dual simplex (HiGHS' default choice) and the
interior point method with and without crossover. Build and solve seconds are
measured apart. Writes ``bench/results/lp.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from sections import write_section  # bench/sections.py, beside this script

from models.replenishment import PlanConfig, build_model, make_instance, solve_model
from pipeline.market import master

REPO = Path(__file__).resolve().parent.parent
DS = "2026-01-31"
METHODS = {
    "simplex": (("solver", "simplex"),),
    "ipm": (("solver", "ipm"), ("run_crossover", "off")),
    "ipm_crossover": (("solver", "ipm"),),
}


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


def time_method(position, forecast, cfg: PlanConfig, method: str) -> dict:
    """Build the LP, solve it with one HiGHS method; seconds and size."""
    cfg = replace(cfg, highs_options=METHODS[method])
    t0, c0 = time.perf_counter(), time.process_time()
    inst = make_instance(position, forecast, DS, cfg)
    prob, v = build_model(inst, cfg)
    build_s, build_cpu = time.perf_counter() - t0, time.process_time() - c0
    try:
        status, _ = solve_model(prob, cfg)
    except RuntimeError as err:
        status = str(err)
    solve_s = time.perf_counter() - t0 - build_s
    solve_cpu = time.process_time() - c0 - build_cpu
    if solve_s >= 0.98 * cfg.time_limit_s:
        status = f"time limit ({cfg.time_limit_s:.0f} s)"
    return {
        "method": method,
        "status": status,
        "build_s": round(build_s, 2),
        "solve_s": round(solve_s, 2),
        "build_cpu_s": round(build_cpu, 2),
        "solve_cpu_s": round(solve_cpu, 2),
        "variables": len(prob.variables()),
        "constraints": len(prob.constraints),
        "objective_eur": round(float(prob.objective.value() or 0), 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skus", type=int, default=2000)
    ap.add_argument("--locations", type=int, default=10)
    ap.add_argument("--horizon", type=int, default=14)
    ap.add_argument("--time-limit", type=float, default=300.0)
    ap.add_argument("--methods", default="ipm,ipm_crossover,simplex")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    position, forecast = synthetic_instance(args.skus, args.locations, args.horizon)
    cfg = PlanConfig(
        horizon_days=args.horizon,
        integer=False,
        order_cost_eur=0.0,
        budget_eur=float(position.unit_cost_eur.mean() * len(position) * 20),
        time_limit_s=args.time_limit,
        threads=args.threads,
    )
    runs = []
    for method in args.methods.split(","):
        runs.append(time_method(position, forecast, cfg, method))
        print(json.dumps(runs[-1]))
    result = {
        "sku_locations": len(position),
        "horizon_days": args.horizon,
        "threads": args.threads,
        "python": platform.python_version(),
        "cpus": __import__("os").cpu_count(),
        "runs": runs,
    }
    out = REPO / "bench" / "results" / "lp.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    text = table(result, args)
    write_section(text, "LP alone on a synthetic M")
    print(text)


def table(result: dict, args) -> str:
    rows = [
        f"### LP alone on a synthetic M market: {result['sku_locations']:,} "
        f"SKU-locations x {result['horizon_days']} days",
        "",
        f"`python bench/lp.py --skus {args.skus} --locations {args.locations} "
        f"--horizon {args.horizon}` ({result['cpus']} cores shared with other work, "
        f"HiGHS threads {result['threads']}, time limit {args.time_limit:.0f} s). "
        "The LP relaxation of the plan; build = frames to PuLP model, solve = "
        "PuLP handing the model to HiGHS plus HiGHS itself. Simplex is the "
        "baseline (HiGHS' default).",
        "",
        "| method | status | build, s (CPU) | solve, s (CPU) | variables | "
        "constraints |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for r in result["runs"]:
        rows.append(
            f"| {r['method']} | {r['status']} | {r['build_s']} ({r['build_cpu_s']}) "
            f"| {r['solve_s']} ({r['solve_cpu_s']}) | {r['variables']:,} | "
            f"{r['constraints']:,} |"
        )
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    main()
