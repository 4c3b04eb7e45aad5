"""How the forecast's settings were chosen: backtest variants on the S market.

Each variant is a LightGBM config run through the same rolling-origin backtest
(4 origins x 28 days, peers off). Writes ``bench/results/forecast_choices.json``
and a section of ``BENCHMARKS.md``. The first group compares P50 losses on
the first config tried; the second varies size, P90 level and target scaling;
the third compares direct with recursive multi-step on the chosen config; the
last compares statsforecast's full AutoETS search with the one the M backtest
can afford (``backtest_peers.ETS_MODEL``).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path

from forecast import REPO  # bench/forecast.py, beside this script
from sections import write_section

from models import demand
from pipeline import backtest, backtest_peers, io
from pipeline.settings import Settings

FIRST = demand.DemandModelConfig(
    num_boost_round=300,
    num_leaves=63,
    learning_rate=0.05,
    scale_target=True,
    p90_alpha=0.9,
)
SMALL = replace(FIRST, num_boost_round=100, num_leaves=31, learning_rate=0.1)
VARIANTS = {
    "100 trees, 31 leaves, lr 0.1": SMALL,
    "... + P90 level 0.93": replace(SMALL, p90_alpha=0.93),
    "150 trees, 63 leaves, lr 0.08, P90 level 0.93": replace(
        FIRST, num_boost_round=150, learning_rate=0.08, p90_alpha=0.93
    ),
    "100 trees, 31 leaves, P90 0.93, unscaled target": replace(
        SMALL, p90_alpha=0.93, scale_target=False
    ),
}
KEYS = ("wape", "bias", "mase", "pinball_p90", "coverage_p90", "fit_s", "predict_s")
NO_PEERS = dict.fromkeys(backtest_peers.PEERS, False)


def multistep_rows(settings) -> dict:
    """Direct vs recursive multi-step, chosen config, same rows."""
    out = backtest.run_backtest(
        settings, "S", base=demand.DemandModelConfig(), recursive_too=True
    )
    return {
        "direct multi-step, chosen config (kept)": out["models"]["fusionloop"],
        "recursive multi-step (one-step model fed its own P50)": out["models"][
            "fusionloop_recursive"
        ],
    }


def ets_rows(settings, installed: dict) -> dict:
    """statsforecast with the full AutoETS search and with the affordable one."""
    if not installed["statsforecast"]:
        return {}
    backtest_peers.available = lambda: installed
    rows = {}
    for ets in ("ZZZ", backtest_peers.ETS_MODEL):
        backtest_peers.ETS_MODEL = ets
        out = backtest.run_backtest(settings, "S", peer_names=("statsforecast",))
        rows[f"statsforecast, AutoETS model={ets!r} + CrostonOptimized"] = out[
            "models"
        ]["statsforecast"]
    backtest_peers.available = lambda: NO_PEERS
    return rows


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", default=str(REPO / "var"))
    args = parser.parse_args()
    load = [round(os.getloadavg()[0], 1)]
    installed = backtest_peers.available()
    backtest_peers.available = lambda: NO_PEERS
    settings = Settings.load(fusion_home=Path(args.home))
    rows = {}
    losses = ("quantile", "tweedie", "poisson", "l2")
    first = backtest.run_backtest(settings, "S", objectives=losses, base=FIRST)
    for name, loss in zip(
        ["fusionloop"] + [f"fusionloop_{x}" for x in losses[1:]], losses, strict=True
    ):
        rows[f"P50 loss {loss} (300 trees, 63 leaves, scaled)"] = first["models"][name]
    for label, config in VARIANTS.items():
        result = backtest.run_backtest(settings, "S", base=config)
        rows[label] = result["models"]["fusionloop"]
    rows |= multistep_rows(settings) | ets_rows(settings, installed)
    rows = {k: {key: m[key] for key in KEYS} for k, m in rows.items()}
    io.write_json(rows, REPO / "bench" / "results" / "forecast_choices.json")
    lines = [
        "### Forecast model choices on the S market (4 origins x 28 days)",
        "",
        "`python bench/forecast_choices.py`; same rows for every variant.",
        "",
        "| variant | " + " | ".join(KEYS) + " |",
        "| --- |" + " ---: |" * len(KEYS),
    ] + [
        f"| {k} | " + " | ".join(str(m[x]) for x in KEYS) + " |"
        for k, m in rows.items()
    ]
    load.append(round(os.getloadavg()[0], 1))
    lines += [
        "",
        f"Load average (1 min) at start and end: {load[0]} / {load[1]} (2 cores, "
        "shared). The chosen config is the direct multi-step row (P90 at 0.91, "
        "the M backtest's choice). Recursive predicts one day at a time, "
        "rebuilding the features after each.",
    ]
    text = "\n".join(lines) + "\n"
    write_section(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
