"""How many training rows the daily demand model needs, on a loop's warehouse.

    FUSION_HOME=var/bench-loop/simulate/M-seed7-fusionloop \\
        python bench/training_rows.py --ds 2026-04-30 --rows 20000,300000

Reads the known feature rows the daily training reads (``_known_rows``: the
holdout origin whole plus a seeded sample), then for each sample size (and
with ``--scale``, with targets scaled too) fits the daily model on the
targets known at the holdout origin and scores the origin's rows, as the
daily challenger is scored. Per variant: WAPE, bias, P90 coverage, fit
seconds, the bias of the fastest 1 % of series, and the fastest series'
forecast against its actuals. Writes ``bench/results/training_rows_<tag>.json``
and its table in ``BENCHMARKS.md``.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from sections import write_section  # bench/sections.py, beside this script

from models import demand
from pipeline.forecasting import _known_rows, model_config
from pipeline.settings import Settings

REPO = Path(__file__).resolve().parent.parent


def score(rows: pd.DataFrame, origin, config) -> dict:
    """Fit on targets known at ``origin``; metrics on the origin's rows."""
    held = rows[rows.origin_date == origin]
    start = time.perf_counter()
    model = demand.fit(rows[rows.target_date <= origin], config)
    fit_s = time.perf_counter() - start
    pred = demand.predict(model, held)
    out = demand.accuracy(held.target_units, pred.p50_units, pred.p90_units)
    key = ["sku", "location_id"]
    series = held[key].assign(
        actual=held.target_units, p50=pred.p50_units, rate=held.mean_28d_units
    )
    per = series.groupby(key).agg(
        actual=("actual", "sum"), p50=("p50", "sum"), rate=("rate", "first")
    )
    fast = per[per.rate >= per.rate.quantile(0.99)]
    top = per.rate.idxmax()
    days = int((series.sku == top[0]).mul(series.location_id == top[1]).sum())
    return out | {
        "fit_s": round(fit_s, 1),
        "fastest_1pct_bias": round(float(fast.p50.sum() / fast.actual.sum() - 1), 3),
        "fastest_series": f"{top[0]} at {top[1]}",
        "fastest_p50_per_day": round(float(per.p50[top]) / max(days, 1), 1),
        "fastest_actual_per_day": round(float(per.actual[top]) / max(days, 1), 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ds", required=True, help="the run date whose holdout is scored")
    ap.add_argument("--rows", default="20000,300000")
    ap.add_argument("--scale", action="store_true", help="also with scaled targets")
    ap.add_argument("--tag", default="M")
    ap.add_argument(
        "--collect", action="store_true", help="no new fits: the table from the JSON"
    )
    args = ap.parse_args()
    path = REPO / "bench" / "results" / f"training_rows_{args.tag}.json"
    if args.collect:
        write_section(section(json.loads(path.read_text()), args.tag))
        return 0
    settings = Settings.load()
    origin = pd.Timestamp(args.ds) - pd.Timedelta(days=settings.holdout_days)
    rows = _known_rows(settings, origin)
    rows = rows[~rows.target_censored.astype(bool)]
    base = model_config(settings)
    results = {}
    for n in [int(x) for x in args.rows.split(",")]:
        for scaled in [False, True] if args.scale else [False]:
            name = f"{n} rows" + (", scaled targets" if scaled else "")
            config = replace(
                base,
                max_training_rows=n,
                training_rows_per_series=0,  # n rows, whatever the series
                scale_target=scaled,
            )
            results[name] = score(rows, origin, config)
            print(name, json.dumps(results[name]), flush=True)
    out = {
        "command": "python bench/training_rows.py "
        + f"--ds {args.ds} --rows {args.rows}"
        + (" --scale" if args.scale else ""),
        "home": str(settings.fusion_home),
        "holdout_origin": f"{origin:%Y-%m-%d}",
        "known_rows": int(len(rows)),
        "series": int(rows.groupby(["sku", "location_id"]).ngroups),
        "holdout_rows": int((rows.origin_date == origin).sum()),
        "variants": results,
    }
    path.write_text(json.dumps(out, indent=2) + "\n")
    write_section(section(out, args.tag))
    print(path)
    return 0


def section(out: dict, tag: str) -> str:
    """The BENCHMARKS.md section of one run's figures."""
    lines = [
        f"### Training rows for the daily model on the {tag} market "
        f"(holdout origin {out['holdout_origin']})",
        "",
        f"`FUSION_HOME={out['home']} {out['command']}`: {out['known_rows']:,} "
        f"known feature rows read (the holdout origin whole plus a seeded "
        f"sample), {out['series']:,} series, {out['holdout_rows']:,} holdout "
        "rows scored; each variant fit on the targets known at the origin, as "
        "the daily challenger is.",
        "",
        "| variant | WAPE | bias | P90 coverage | P90 pinball | fit s "
        "| fastest 1 % bias | fastest series, P50 / actual a day |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, v in out["variants"].items():
        lines.append(
            f"| {name} | {v['wape']:.4f} | {v['bias']:+.3f} | "
            f"{v['coverage_p90']:.3f} | {v['pinball_p90']:.4f} | {v['fit_s']} | "
            f"{v['fastest_1pct_bias']:+.3f} | {v['fastest_series']}: "
            f"{v['fastest_p50_per_day']} / {v['fastest_actual_per_day']} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    np.seterr(all="ignore")
    raise SystemExit(main())
