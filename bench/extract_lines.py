"""Benchmark the record-line numbers of a CSV drop: the csv pass vs the shortcut.

    python bench/extract_lines.py --size L --days 2

Extract keeps, for every row, the line of the file it came from (quarantine
rows name it). Reading a drop record by record with ``csv`` to count lines
(the baseline) is replaced by a check that each record is on a line of its
own (no quote, carriage return or blank line), which then needs no pass.
Generates ``--days`` days of the market in a fresh home under ``var/bench/``
and times, on the last day's CSV drops, both ways (best of 3, the same drops
in the same process) and the whole ``read_drop`` with the shortcut. Writes
``bench/results/extract_lines.json`` and its table in ``BENCHMARKS.md``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sections import write_section  # noqa: E402  (bench/, beside this script)

from pipeline import market  # noqa: E402
from pipeline.extract import (  # noqa: E402
    _one_line_per_record,
    _record_lines,
    _record_lines_by_csv,
    read_drop,
)
from pipeline.settings import Settings  # noqa: E402
from pipeline.sources import SOURCES, load_source  # noqa: E402

END = "2026-01-31"


def best_of(fn, *args, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return round(min(times), 3)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", default="L")
    parser.add_argument("--days", type=int, default=2)
    args = parser.parse_args()
    home = REPO / "var" / "bench" / f"extract_lines_{args.size}"
    shutil.rmtree(home, ignore_errors=True)
    settings = Settings.load(fusion_home=home, pii_key="bench")
    market.generate(settings, size=args.size, days=args.days, seed=7, end=END)
    rows = []
    for source in SOURCES:
        src = load_source(source, settings.expectations_dir)
        path = settings.landing / END / src.file
        if src.format != "csv" or not path.exists():
            continue
        frame, _ = read_drop(path, src)
        n = len(frame)
        baseline = _record_lines_by_csv(path, n)
        assert _record_lines(path, n) == baseline, path  # the same answer
        rows.append(
            {
                "source": source,
                "rows": n,
                "megabytes": round(path.stat().st_size / 1e6, 1),
                "shortcut_applies": _one_line_per_record(path.read_bytes(), n),
                "csv_pass_s": best_of(_record_lines_by_csv, path, n),
                "shortcut_s": best_of(_record_lines, path, n),
                "read_drop_s": best_of(read_drop, path, src),
            }
        )
    result = {"size": args.size, "day": END, "drops": rows}
    out = REPO / "bench" / "results" / "extract_lines.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        f"### Record lines of a CSV drop on the {args.size} market",
        "",
        f"`python bench/extract_lines.py --size {args.size} --days {args.days}`: "
        f"the {END} drops, best of 3 in one process. Baseline: counting each "
        "record's line with a `csv` pass; now: the one-line-per-record check, "
        "then the numbers without a pass (a drop with a quote, carriage return "
        "or blank line still gets the pass). `read_drop` is the whole read "
        "with the shortcut (parse, checks, lineage columns).",
        "",
        "| drop | rows | MB | shortcut applies | csv pass, s | shortcut, s "
        "| read_drop, s |",
        "| --- | ---: | ---: | --- | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['source']} | {r['rows']:,} | {r['megabytes']} | "
            f"{'yes' if r['shortcut_applies'] else 'no'} | {r['csv_pass_s']} | "
            f"{r['shortcut_s']} | {r['read_drop_s']} |"
        )
    text = "\n".join(lines) + "\n"
    write_section(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
