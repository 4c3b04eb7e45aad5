"""``fusionloop``: generate the demo market, run a day, step the market.

fusionloop demo --size S --days 180 --seed 7     # market + history in landing/
fusionloop run --ds 2026-01-31                   # every stage, no Airflow
fusionloop step --ds 2026-02-01                  # the market reacts, next day lands
fusionloop summary --ds 2026-01-31               # print a run's summary
fusionloop simulate --policy baseline --days 90  # closed-loop benchmark, KPIs
fusionloop simulate --policy perfect --days 90 --resume  # go on after a stop
fusionloop validate --ds 2026-01-31              # the data quality gate alone
fusionloop backtest --size S --origins 4 --horizon 28   # forecast vs baselines
fusionloop import --mapping m.toml --input exports/   # your exports -> landing/
fusionloop backtest --landing var/landing --horizon 4  # on an imported landing
"""

from __future__ import annotations

import argparse
import logging
import sys

from pipeline import io
from pipeline.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="fusionloop",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="generate the seeded demo market")
    demo.add_argument("--size", default="S", choices=["XS", "S", "M", "L"])
    demo.add_argument("--days", type=int, default=180)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--end", default="2026-01-31", help="last day of history")
    run = sub.add_parser("run", help="run every stage for one day without Airflow")
    run.add_argument("--ds", help="run date (default: the market's last day)")
    run.add_argument("--horizon-days", type=int)
    run.add_argument("--service-level", type=float)
    run.add_argument("--budget-eur", type=float)
    step = sub.add_parser("step", help="simulate the next market day")
    step.add_argument("--ds", required=True)
    step.add_argument(
        "--policy", default="fusionloop", choices=["fusionloop", "baseline"]
    )
    simulate = sub.add_parser(
        "simulate", help="closed-loop benchmark: N market days under one policy"
    )
    simulate.add_argument(
        "--policy",
        default="fusionloop",
        choices=["fusionloop", "baseline", "perfect", "oracle"],
    )
    simulate.add_argument("--days", type=int, default=90)
    simulate.add_argument("--size", default="S", choices=["XS", "S", "M"])
    simulate.add_argument("--seed", type=int, default=7)
    simulate.add_argument(
        "--resume",
        action="store_true",
        help="go on from the last day an earlier run of this market completed",
    )
    summary = sub.add_parser("summary", help="print the summary of a finished run")
    summary.add_argument("--ds", help="run date (default: the market's last day)")
    validate = sub.add_parser(
        "validate",
        help="extract and validate every source; non-zero if the run cannot go on",
    )
    validate.add_argument("--ds", help="run date (default: the market's last day)")
    backtest = sub.add_parser("backtest", help="rolling-origin forecast backtest")
    backtest.add_argument("--size", default="S", choices=["XS", "S", "M"])
    backtest.add_argument("--origins", type=int, default=4)
    backtest.add_argument("--horizon", type=int, default=28)
    backtest.add_argument("--origin-step-days", type=int, default=7)
    backtest.add_argument(
        "--objectives",
        nargs="+",
        default=["quantile"],
        choices=["quantile", "tweedie", "poisson", "l2"],
        help="P50 losses to compare; the first is `fusionloop`",
    )
    backtest.add_argument(
        "--generate",
        action="store_true",
        help="generate the market of --size first if FUSION_HOME has none",
    )
    backtest.add_argument(
        "--peers",
        nargs="*",
        default=["mlforecast", "statsforecast"],
        help="peers to run (none: `--peers` alone)",
    )
    backtest.add_argument("--out", help="results JSON (default: out/backtest/)")
    backtest.add_argument(
        "--landing",
        help="backtest an imported landing folder instead of the demo market; "
        "--horizon is then in periods of its grain (days or weeks)",
    )
    # Bring your own extracts (issue 10).
    imp = sub.add_parser("import", help="convert your own exports into landing/")
    imp.add_argument("--mapping", required=True, help="the mapping TOML file")
    imp.add_argument("--input", required=True, help="folder holding the exports")
    imp.add_argument("--landing", help="target folder (default: FUSION_HOME/landing)")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    settings = Settings.load()
    return COMMANDS[args.command](settings, args)


def _last_day(settings: Settings) -> str:
    from pipeline.importer import read_manifest

    path = settings.sim_dir / "market.json"
    imported = read_manifest(settings.landing)
    if not path.exists() and imported:  # a landing `fusionloop import` wrote
        return imported["last_day"]
    if not path.exists():
        sys.exit(f"no market under {settings.fusion_home}: run `fusionloop demo` first")
    return io.read_json(path)["last_day"]


def _demo(settings, args) -> int:
    from pipeline import market

    meta = market.generate(settings, args.size, args.days, args.seed, args.end)
    print(f"demo market {meta} in {settings.landing}")
    return 0


def _run(settings, args) -> int:
    from pipeline.daily import run_day
    from pipeline.report import format_summary

    settings = settings.replace(
        horizon_days=args.horizon_days,
        service_level=args.service_level,
        budget_eur=args.budget_eur,
    )
    print(format_summary(run_day(settings, args.ds or _last_day(settings))))
    return 0


def _step(settings, args) -> int:
    from pipeline import market

    market.step(settings, args.ds, args.policy)
    print(f"market stepped to {args.ds}; extracts in {settings.landing / args.ds}")
    return 0


def _simulate(settings, args) -> int:
    import json

    from pipeline.simulate import SimConfig, simulate

    cfg = SimConfig(policy=args.policy, days=args.days, size=args.size, seed=args.seed)
    print(json.dumps(simulate(settings, cfg, resume=args.resume), indent=2))
    return 0


def _summary(settings, args) -> int:
    from pipeline.report import format_summary

    ds = args.ds or _last_day(settings)
    print(format_summary(io.read_json(settings.out_dir(ds) / "run_report.json")))
    return 0


def _validate(settings, args) -> int:
    from pipeline.gate import format_gate, run_gate

    ds = args.ds or _last_day(settings)
    counts, errors = run_gate(settings, ds)
    print(format_gate(ds, counts))
    if errors:
        print("\nthe run cannot go on:\n" + "\n".join(errors), file=sys.stderr)
        return 1
    return 0


def _backtest(settings, args) -> int:
    from pathlib import Path

    from pipeline import market
    from pipeline.backtest import HISTORY_DAYS, format_results, run_backtest

    if args.landing:
        return _backtest_landing(settings, args)
    if args.generate and not (settings.sim_dir / "market.json").exists():
        market.generate(settings, args.size, HISTORY_DAYS[args.size], settings.seed)
    results = run_backtest(
        settings,
        args.size,
        args.origins,
        args.horizon,
        args.origin_step_days,
        tuple(args.objectives),
        peer_names=tuple(args.peers),
    )
    out = Path(args.out or settings.fusion_home / "out/backtest" / f"{args.size}.json")
    io.write_json(results, out)
    print(format_results(results))
    print(f"results in {out}")
    return 0


def _import(settings, args) -> int:
    from pathlib import Path

    from pipeline.importer import format_manifest, import_exports
    from pipeline.mapping import MappingError, load_mapping

    landing = Path(args.landing) if args.landing else settings.landing
    try:
        mapping = load_mapping(Path(args.mapping))
        manifest = import_exports(
            mapping, Path(args.input), landing, settings.expectations_dir
        )
    except MappingError as err:
        print(f"import failed: {err}", file=sys.stderr)
        return 2
    print(format_manifest(manifest, landing))
    return 0


def _backtest_landing(settings, args) -> int:
    from pathlib import Path

    from pipeline.landing_backtest import backtest_landing, format_landing_results

    results = backtest_landing(settings, Path(args.landing), args.horizon)
    out = Path(args.out or settings.fusion_home / "out/backtest/landing.json")
    io.write_json(results, out)
    print(format_landing_results(results))
    print(f"results in {out}")
    return 0


COMMANDS = {
    "demo": _demo,
    "run": _run,
    "step": _step,
    "summary": _summary,
    "simulate": _simulate,
    "validate": _validate,
    "backtest": _backtest,
    "import": _import,
}
