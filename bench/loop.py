"""The closed-loop benchmark: fusionloop vs baseline vs perfect foresight, in money.

    python bench/loop.py --sizes S --days 90 --seed 7

Runs ``fusionloop simulate`` for each policy (baseline, perfect foresight, the
oracle fed the true demand distribution, FusionLoop) on the same seeded market
(same history, same demand draws), in one process per policy, and writes
``bench/results/loop.json`` (the first size, unless ``--collect``; every
size also gets ``loop_<size>.json``), ``bench/results/loop_cost_<size>.png``
(cumulative total cost per policy) and the table in ``BENCHMARKS.md``. The
baseline is measured in the same run as the policy it is compared with.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
from sections import write_section  # bench/sections.py, beside this script

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
POLICIES = ("baseline", "perfect", "oracle", "fusionloop")
# Cost ratios reported: FusionLoop against the targets, the oracle's split.
RATIOS = [
    ("fusionloop", "baseline"),
    ("fusionloop", "perfect"),
    ("oracle", "perfect"),
    ("fusionloop", "oracle"),
]
HEADLINE = ("total_cost_eur", "fill_rate", "gross_margin_eur", "inventory_turns")
ROWS = [
    ("total cost, EUR", "total_cost_eur", "{:,.0f}"),
    ("holding cost, EUR", "holding_cost_eur", "{:,.0f}"),
    ("lost-sales cost, EUR", "lost_sales_cost_eur", "{:,.0f}"),
    ("ordering cost, EUR", "ordering_cost_eur", "{:,.0f}"),
    ("revenue, EUR", "revenue_eur", "{:,.0f}"),
    ("gross margin, EUR", "gross_margin_eur", "{:,.0f}"),
    ("markdown spend, EUR", "markdown_spend_eur", "{:,.0f}"),
    ("fill rate (units)", "fill_rate", "{:.3f}"),
    ("stock-out days (SKU-location-days)", "stockout_days", "{:,}"),
    ("inventory turns (annualised)", "inventory_turns", "{:.1f}"),
    ("order lines", "order_lines", "{:,}"),
    ("wall time, s", "wall_s", "{:,.0f}"),
]


# Settings per market size. The default purchasing budget (60,000 EUR over the
# horizon) is sized for S. M sells about 450,000 EUR a day at cost, so any
# budget of the S kind binds every day (1,000,000 EUR did, 2026-12-06) and
# would measure the budget, not the policies (the baseline has none): M runs
# with a budget far above what any plan spends.
SIZE_ENV = {"M": {"FUSION_BUDGET_EUR": "100000000"}}


def run_policy(
    home: Path, policy: str, size: str, days: int, seed: int, resume=False
) -> dict:
    """One ``fusionloop simulate`` run; its totals, daily KPIs and wall time
    (of this call alone when it resumes an earlier run)."""
    env = dict(os.environ, FUSION_HOME=str(home)) | SIZE_ENV.get(size, {})
    cmd = [str(BIN / "fusionloop"), "simulate", "--policy", policy]
    cmd += ["--size", size, "--days", str(days), "--seed", str(seed)]
    cmd += ["--resume"] if resume else []
    start = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stderr[-3000:]}")
    totals = json.loads(out.stdout) | {"wall_s": round(time.perf_counter() - start)}
    sim = home / "simulate" / f"{size}-seed{seed}-{policy}" / "out" / "_simulation"
    return {"totals": totals, "daily": pd.read_csv(sim / "kpis_daily.csv")}


def collect_policy(home: Path, policy: str, size: str, days: int, seed: int) -> dict:
    """Totals of a run already made (or cut short) from its daily KPIs."""
    from pipeline.market.kpis import totals

    sim = home / "simulate" / f"{size}-seed{seed}-{policy}" / "out" / "_simulation"
    daily = pd.read_csv(sim / "kpis_daily.csv").head(days)
    result = {"policy": policy, "size": size, "seed": seed} | totals(daily)
    return {"totals": result | {"wall_s": float("nan")}, "daily": daily}


def plot(daily: dict, size: str, days: int, seed: int) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for policy, frame in daily.items():
        dates = pd.to_datetime(frame.date)
        ax.plot(dates, frame.total_cost_eur.cumsum(), label=policy)
    ax.set_title(f"Cumulative total cost, {size} market, {days} days, seed {seed}")
    ax.set_ylabel("EUR (holding + lost sales + ordering)")
    ax.legend()
    fig.autofmt_xdate()
    path = REPO / "bench" / "results" / f"loop_cost_{size}.png"
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def cell(fmt: str, value) -> str:
    """A table cell; a figure the run did not record (the wall time of a run
    collected from its daily KPIs) reads "not recorded", not "nan"."""
    return "not recorded" if value != value else fmt.format(value)


def table(result: dict) -> str:
    pol = result["policies"]
    names = [p for p in POLICIES if p in pol]
    rows = [
        f"### Closed loop on the {result['size']} market, {result['days']} days, "
        f"seed {result['seed']}",
        "",
        f"`{result['command']}` ({result['machine']}). Cumulative cost: "
        f"`{result['plot']}`.",
        "",
        "| | " + " | ".join(names) + " |",
        "| --- |" + " ---: |" * len(names),
    ]
    for label, key, fmt in ROWS:
        rows.append(
            f"| {label} | " + " | ".join(cell(fmt, pol[p][key]) for p in names) + " |"
        )
    r = result["ratios"]
    if r:
        rows += [
            "",
            "FusionLoop total cost / baseline: "
            f"{r.get('fusionloop_vs_baseline_cost', float('nan')):.2f} "
            "(target <= 0.80); / perfect foresight: "
            f"{r.get('fusionloop_vs_perfect_cost', float('nan')):.2f} "
            "(target <= 1.15).",
        ]
    if "oracle_vs_perfect_cost" in r:
        rows += [
            "",
            "The oracle (the optimiser fed the true demand distribution, not the "
            f"draws) costs {r['oracle_vs_perfect_cost']:.2f} x perfect foresight: "
            "the part of the gap no forecast closes with this optimiser. FusionLoop "
            "costs "
            f"{r.get('fusionloop_vs_oracle_cost', float('nan')):.2f} x the oracle: "
            "the part its forecast and extracts leave.",
        ]
    return "\n".join(rows) + "\n"


def bench_size(
    size: str, days: int, seed: int, policies, collect=False, resume=False
) -> dict:
    home = REPO / "var" / "bench-loop"
    if collect:
        runs = {p: collect_policy(home, p, size, days, seed) for p in policies}
        days = min(len(r["daily"]) for r in runs.values())
        runs = {p: collect_policy(home, p, size, days, seed) for p in policies}
    else:
        # side by side, one process each (wall times are of a shared machine)
        with ThreadPoolExecutor(len(policies)) as pool:
            futures = {
                p: pool.submit(run_policy, home, p, size, days, seed, resume)
                for p in policies
            }
        runs = {p: f.result() for p, f in futures.items()}
    pol = {p: r["totals"] for p, r in runs.items()}
    ratios = {}
    for a, b in RATIOS:
        if a in pol and b in pol:
            ratios[f"{a}_vs_{b}_cost"] = round(
                pol[a]["total_cost_eur"] / pol[b]["total_cost_eur"], 3
            )
    png = plot({p: r["daily"] for p, r in runs.items()}, size, days, seed)
    return {
        "size": size,
        "days": days,
        "seed": seed,
        "command": f"python bench/loop.py --sizes {size} --days {days} --seed {seed}"
        + (" --collect" if collect else "")
        + (" --resume" if resume else ""),
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}",
        "policies": pol,
        "headline": {p: {k: pol[p][k] for k in HEADLINE} for p in pol},
        "ratios": ratios,
        "plot": str(png.relative_to(REPO)),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="S")
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--policies", default=",".join(POLICIES))
    ap.add_argument(
        "--collect",
        action="store_true",
        help="no new runs: tabulate the days every policy's last run completed",
    )
    ap.add_argument(
        "--resume",
        action="store_true",
        help="go on from where each policy's last run stopped (fusionloop simulate "
        "--resume); the figures are an uninterrupted run's, the wall times not",
    )
    args = ap.parse_args()
    results = REPO / "bench" / "results"
    for k, size in enumerate(args.sizes.split(",")):
        policies = args.policies.split(",")
        result = bench_size(
            size, args.days, args.seed, policies, args.collect, args.resume
        )
        text = json.dumps(result, indent=2) + "\n"
        (results / f"loop_{size}.json").write_text(text)
        if k == 0 and not args.collect:  # a run cut short is not the headline
            (results / "loop.json").write_text(text)
        md = table(result)
        write_section(md, f"Closed loop on the {size}")
        print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
