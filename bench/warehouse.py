"""Benchmark the incremental warehouse build against a full rebuild of the same day.

    python bench/warehouse.py --size S --days 180

In a fresh home under ``var/bench/warehouse_<size>/``: generate the market's
history up to the day before ``END``, extract and validate it, build the
warehouse (full: the initial load), then step the market to ``END`` (its own
reorder-point ops), extract and validate that day and build it incrementally.
The baseline is a full rebuild of that same day from the same lake, in a
second warehouse file; both must leave the same rows (``pipeline.fingerprint``).
Writes ``bench/results/warehouse_<size>.json`` and its section in
``BENCHMARKS.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import pandas as pd  # noqa: E402
from sections import write_section  # noqa: E402

from pipeline import daily, fingerprint, io, market, resources  # noqa: E402
from pipeline.settings import Settings  # noqa: E402
from pipeline.sources import SOURCES  # noqa: E402
from pipeline.warehouse import build_warehouse  # noqa: E402

END = "2026-01-31"


def ingest(settings: Settings, ds: str) -> None:
    """Extract and validate every source's drops up to ``ds``."""
    for source in SOURCES:
        daily.validate(settings, daily.extract(settings, source, ds))


def timed_build(settings: Settings, ds: str) -> dict:
    """Build the warehouse for ``ds``: seconds, peak RSS (MB), rows, how."""
    resources.reset_peak_rss()
    start = time.perf_counter()
    rows = build_warehouse(settings, ds)
    seconds = round(time.perf_counter() - start, 2)
    how = io.read_json(settings.out_dir(ds) / "warehouse_build.json")
    return {
        "seconds": seconds,
        "peak_rss_mb": resources.peak_rss_mb(),
        "rows": sum(rows.values()),
        "feature_rows": rows["mart_demand_features"],
        "warehouse_mb": round(settings.warehouse.stat().st_size / 2**20),
        **how,
    }


def run(size: str, days: int, tag: str = "", compare: bool = True) -> dict:
    """Initial load to the day before ``END``, then ``END`` both ways."""
    home = REPO / "var" / "bench" / f"warehouse_{size}{tag}"
    shutil.rmtree(home, ignore_errors=True)
    settings = Settings.load(fusion_home=home)
    history_end = f"{pd.Timestamp(END) - pd.Timedelta(days=1):%Y-%m-%d}"
    market.generate(settings, size=size, days=days, seed=settings.seed, end=history_end)
    ingest(settings, history_end)
    initial = timed_build(settings, history_end)
    market.step(settings, END, policy="baseline")  # the next day lands
    ingest(settings, END)
    incremental = timed_build(settings, END)
    full_settings = settings.replace(fusion_home=home / "full")
    os.makedirs(full_settings.fusion_home, exist_ok=True)
    os.symlink(settings.lake, full_settings.lake)
    full = timed_build(full_settings, END)
    # The fingerprint reads each table into pandas: every feature row of M
    # (33.6M) does not fit in 24 GB, hence --no-compare.
    same = compare and not fingerprint.differences(
        fingerprint.warehouse(settings), fingerprint.warehouse(full_settings)
    )
    return {
        "size": size,
        "tag": tag,
        "command": " ".join(["python bench/warehouse.py", *sys.argv[1:]]),
        "settings": {"training_read_rows": settings.training_read_rows},
        "history_days": days,
        "ds": END,
        "initial_load_build": initial,
        "incremental_build": incremental,
        "full_rebuild": full,
        "same_rows": same if compare else "not compared",
        "load_average": " ".join(f"{x:.1f}" for x in os.getloadavg()),
        "machine": f"{os.cpu_count()} cores",
    }


def render(r: dict) -> str:
    """The BENCHMARKS.md section: both builds side by side."""
    inc, full = r["incremental_build"], r["full_rebuild"]
    return "\n".join(
        [
            # a tag goes before " market": BENCHMARKS.md sections are keyed by
            # the title up to there (bench/sections.py)
            "### Incremental warehouse"
            + (f" ({r['tag'].strip('-')})" if r["tag"] else "")
            + f" on the {r['size']} market",
            "",
            f"`{r['command']}` (training_read_rows "
            f"{r['settings']['training_read_rows']:,}; {r['machine']}, load average "
            f"{r['load_average']}): the warehouse of {r['ds']} built "
            "incrementally after the day before, against a full rebuild of "
            f"the same day from the same lake (same rows: {r['same_rows']}).",
            "",
            "| build | s | peak MB | rows | feature rows | file MB | marts from "
            "| dirty SKUs |",
            "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
            *(
                f"| {name} | {b['seconds']} | {b['peak_rss_mb']} | {b['rows']:,} | "
                f"{b['feature_rows']:,} | {b['warehouse_mb']:,} | {b['marts_since']} "
                f"| {b['dirty_skus']} |"
                for name, b in [
                    ("full rebuild (baseline)", full),
                    (f"{inc['mode']} (after the day before)", inc),
                ]
            ),
            "",
            f"Incremental / full: {inc['seconds'] / full['seconds']:.2f} of the time.",
            "",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", default="S")
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument(
        "--tag", default="", help="suffix of the home, results file and section"
    )
    parser.add_argument(
        "--no-compare",
        action="store_true",
        help="do not check that both builds leave the same rows",
    )
    args = parser.parse_args()
    result = run(args.size, args.days, args.tag, not args.no_compare)
    out = REPO / "bench" / "results" / f"warehouse_{args.size}{args.tag}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    text = render(result)
    write_section(text)
    print(text)
    return 0 if result["same_rows"] in (True, "not compared") else 1


if __name__ == "__main__":
    sys.exit(main())
