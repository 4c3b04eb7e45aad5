"""Forecast backtest on the demo market: FusionLoop vs baselines, oracle and peers.

Runs ``fusionloop backtest`` logic on a market of ``--size`` (generated under
``--home`` when missing), writes ``bench/results/forecast.json`` (M; other
sizes ``forecast_<size>.json``) and the table in ``BENCHMARKS.md``. The peers
need ``make bench-install``; without them their rows say "not installed".
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import time
from pathlib import Path

from sections import write_section  # bench/sections.py, beside this script

from pipeline import backtest_peers, io, market
from pipeline.backtest import HISTORY_DAYS, format_results, run_backtest
from pipeline.settings import Settings

REPO = Path(__file__).resolve().parent.parent
KEEP = ("wape", "bias", "mase", "pinball_p90", "coverage_p90", "fit_s", "predict_s")


def section(results: dict, command: str) -> str:
    """The BENCHMARKS.md section: table, command, data size, targets."""
    m, size = results["models"], results["size"]
    fl, oracle, naive = m["fusionloop"], m["oracle"], m["seasonal_naive"]
    lines = [
        f"### Forecast backtest on the {size} market "
        f"({results['market']['start']} to {results['market']['last_day']}), "
        f"{results['machine']}",
        "",
        f"`{command}`: {len(results['origins'])} origins "
        f"({', '.join(results['origins'])}), horizon {results['horizon_days']} days, "
        f"{m['fusionloop']['rows']:,} scored rows (days not censored by a "
        f"stock-out), {results['training_rows']:,} training rows over all origins "
        f"(at most {results['config']['max_training_rows']:,} per origin, origins "
        f"every {results['origin_step_days']} days over "
        f"{results['train_window_days']} days). Peers' fit s include predicting.",
        "",
        format_results(results),
        "",
        f"FusionLoop WAPE / oracle WAPE: {fl['wape'] / oracle['wape']:.3f} "
        f"(target <= 1.10); / seasonal naive: {fl['wape'] / naive['wape']:.3f} "
        f"(target <= 0.85); P90 coverage {fl['coverage_p90']} (target 0.87-0.93).",
    ]
    for name in ("mlforecast", "statsforecast"):
        peer = m.get(name, {})
        if peer.get("status") == "ok":
            lines[-1] += (
                f" {name} WAPE {peer['wape']} in {peer['fit_s']} s vs FusionLoop "
                f"{fl['wape']} in {fl['fit_s']} s."
            )
    lines += [
        "",
        f"statsforecast: AutoETS(season_length=7, model={results['ets_model']!r}) "
        "for smooth series, CrostonOptimized for intermittent ones (mean interval "
        "between sales above 1.32 days). Load average (1 min) at start and end: "
        f"{results['load_average'][0]} / {results['load_average'][1]}; total "
        f"wall time {results['wall_s']:,.0f} s.",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", default="M", choices=sorted(HISTORY_DAYS))
    parser.add_argument("--home", default=str(REPO / "var_m"))
    parser.add_argument("--origins", type=int, default=4)
    parser.add_argument("--horizon", type=int, default=28)
    parser.add_argument("--origin-step-days", type=int, default=7)
    parser.add_argument("--peers", nargs="*", default=["mlforecast", "statsforecast"])
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    settings = Settings.load(fusion_home=Path(args.home))
    if not (settings.sim_dir / "market.json").exists():
        market.generate(settings, args.size, HISTORY_DAYS[args.size], settings.seed)
    load_start, start = round(os.getloadavg()[0], 1), time.perf_counter()
    results = run_backtest(
        settings,
        args.size,
        args.origins,
        args.horizon,
        args.origin_step_days,
        peer_names=tuple(args.peers),
    )
    results["machine"] = f"{os.cpu_count()} cores, Python {platform.python_version()}"
    results["load_average"] = [load_start, round(os.getloadavg()[0], 1)]
    results["wall_s"] = round(time.perf_counter() - start, 1)
    results["ets_model"] = backtest_peers.ETS_MODEL
    compact = {
        "size": args.size,
        "models": {
            name: {k: v for k, v in m.items() if k in KEEP or k == "status"}
            for name, m in results["models"].items()
        },
        "details": results,
    }
    # forecast.json is the M figure; other sizes keep their own file
    name = "forecast.json" if args.size == "M" else f"forecast_{args.size}.json"
    io.write_json(compact, REPO / "bench" / "results" / name)
    command = "python bench/forecast.py " + " ".join(sys.argv[1:])
    text = section(results, command)
    write_section(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
