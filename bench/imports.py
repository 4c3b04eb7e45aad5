"""Backtest the three foreign-format samples: FusionLoop vs its baselines.

    python bench/imports.py [--root DIR]

Writes each sample (``tests/import_samples.py``), imports it with its mapping,
holds back its last periods (14 days, or 8 weeks at week grain) and scores
FusionLoop, seasonal naive and the moving average on the same series-periods:
``bench/results/imports.json`` and a section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from sections import write_section

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline import io  # noqa: E402
from pipeline.importer import import_exports  # noqa: E402
from pipeline.landing_backtest import backtest_landing  # noqa: E402
from pipeline.mapping import load_mapping  # noqa: E402
from pipeline.settings import Settings  # noqa: E402
from tests.import_samples import SAMPLES, write_sample  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "imports.json"
HORIZON = {"kassen": 14, "us_revenue": 14, "weekly": 8}
WHAT = {
    "kassen": "order lines only; ';', decimal comma, %d-%m-%Y",
    "us_revenue": "revenue only, %m/%d/%Y, discount expression, product list",
    "weekly": "weekly units per store x department, Parquet",
}


def run_sample(name: str, root: Path) -> dict:
    """Import sample ``name`` under ``root`` and backtest it; returns the results."""
    mapping, folder = write_sample(name, root)
    settings = Settings.load(fusion_home=root / f"home_{name}")
    start = time.perf_counter()
    import_exports(
        load_mapping(mapping), folder, settings.landing, settings.expectations_dir
    )
    import_s = time.perf_counter() - start
    results = backtest_landing(settings, settings.landing, HORIZON[name])
    return results | {
        "import_s": round(import_s, 2),
        "backtest_s": round(time.perf_counter() - start - import_s, 2),
        "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def results_load(results: dict) -> str:
    return next(iter(results.values()))["load_average"]


def section(results: dict) -> str:
    lines = [
        "### Imported exports, not the demo market: FusionLoop vs baselines (WAPE)",
        "",
        "`python bench/imports.py`; each sample's last periods held back, all "
        "models scored on the same series-periods. Load average "
        f"{results_load(results)} (2 cores, shared) when the times were taken.",
        "",
        "| sample | what | grain | held back | series | FusionLoop | seasonal "
        "naive | moving average | import + backtest s |",
        "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, r in results.items():
        w = r["wape"]
        lines.append(
            f"| {name} | {WHAT[name]} | {r['grain']} | {r['horizon_periods']} "
            f"{r['grain']}s | {r['series']} | {w['fusionloop']:.3f} | "
            f"{w['seasonal_naive']:.3f} | {w['moving_average']:.3f} | "
            f"{r['import_s'] + r['backtest_s']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", help="work folder (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.root or tmp)
        root.mkdir(parents=True, exist_ok=True)
        results = {name: run_sample(name, root) for name in SAMPLES}
    io.write_json(results, RESULTS)
    text = section(results)
    write_section(text)
    print(text)


if __name__ == "__main__":
    main()
