"""Benchmark the data quality gate: validation time per million rows vs extract.

    python bench/validation.py --size M --days 30

Generates the market in a fresh home under ``var/bench/``, then for each
source times the extract of its whole landing history (the baseline: read
the drops, pseudonymise, write Parquet) and its validation (cast, GX suite,
references, quarantine, manifests, Data Docs) on the same rows, in one
process (Great Expectations imported once beforehand). Writes
``bench/results/validation_<size>.json`` and its table in ``BENCHMARKS.md``.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import re
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipeline import market  # noqa: E402
from pipeline.extract import extract_source  # noqa: E402
from pipeline.settings import Settings  # noqa: E402
from pipeline.sources import SOURCES  # noqa: E402
from pipeline.validate import validate_source  # noqa: E402


def measure_source(settings: Settings, source: str, ds: str) -> dict:
    """Extract then validate every landed day of ``source``; seconds and rows."""
    start = time.perf_counter()
    out = extract_source(settings, source, ds)
    extract_s = time.perf_counter() - start
    start = time.perf_counter()
    counts = validate_source(settings, source, ds, out["days"], out["bad_drops"])
    validate_s = time.perf_counter() - start
    rows = sum(d["input_rows"] for d in counts["days_validated"])
    return {
        "source": source,
        "days": len(out["days"]),
        "rows": rows,
        "quarantined_rows": sum(
            d["quarantined_rows"] for d in counts["days_validated"]
        ),
        "extract_s": round(extract_s, 2),
        "validate_s": round(validate_s, 2),
    }


def per_million(seconds: float, rows: int) -> float:
    return round(seconds / rows * 1e6, 1) if rows else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", default="S", choices=["XS", "S", "M"])
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    home = REPO / "var" / "bench" / f"validation-{args.size}"
    shutil.rmtree(home, ignore_errors=True)
    settings = Settings.load(fusion_home=home, pii_key="bench")
    start = time.perf_counter()
    meta = market.generate(settings, args.size, args.days, 7, "2026-01-31")
    generate_s = round(time.perf_counter() - start, 1)
    ds = meta["last_day"]
    start = time.perf_counter()
    import great_expectations  # noqa: F401  (a one-time cost, kept out of per-row)

    gx_import_s = round(time.perf_counter() - start, 1)
    rows = [measure_source(settings, s, ds) for s in SOURCES]
    total = {
        k: round(sum(r[k] for r in rows), 2)
        for k in ("rows", "quarantined_rows", "extract_s", "validate_s")
    }
    result = {
        "size": args.size,
        "days": args.days,
        "machine": f"{platform.machine()}, Python {platform.python_version()}",
        "generate_s": generate_s,
        "gx_import_s": gx_import_s,
        "sources": rows,
        "total": total
        | {
            "extract_s_per_million_rows": per_million(
                total["extract_s"], total["rows"]
            ),
            "validate_s_per_million_rows": per_million(
                total["validate_s"], total["rows"]
            ),
        },
    }
    out = REPO / "bench" / "results" / f"validation_{args.size}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    table = render(result)
    print(table)
    _update_benchmarks(args.size, table)
    return 0


def render(result: dict) -> str:
    """The Markdown table of one run."""
    lines = [
        f"### Data quality gate on the {result['size']} market "
        f"({result['days']} days of history), {result['machine']}",
        "",
        f"Made by `python bench/validation.py --size {result['size']} "
        f"--days {result['days']}`.",
        "",
        "| source | days | rows | quarantined | extract s (baseline) | validate s "
        "| extract s / M rows | validate s / M rows |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in [*result["sources"], {"source": "all", "days": "", **result["total"]}]:
        lines.append(
            f"| {r['source']} | {r['days']} | {r['rows']:,} "
            f"| {r['quarantined_rows']:,} "
            f"| {r['extract_s']} | {r['validate_s']} "
            f"| {per_million(r['extract_s'], r['rows'])} "
            f"| {per_million(r['validate_s'], r['rows'])} |"
        )
    lines += [
        "",
        f"Market generation: {result['generate_s']} s. Importing Great "
        f"Expectations once per process: {result['gx_import_s']} s (not in the "
        "figures above; `PYTHONDONTWRITEBYTECODE=1` makes it recompile each time).",
    ]
    return "\n".join(lines)


def _update_benchmarks(size: str, table: str) -> None:
    """Replace this size's section of BENCHMARKS.md (between its markers)."""
    path = REPO / "BENCHMARKS.md"
    begin, end = f"<!-- validation {size} -->", f"<!-- /validation {size} -->"
    block = f"{begin}\n{table}\n{end}"
    text = path.read_text()
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    text = pattern.sub(block, text) if pattern.search(text) else f"{text}\n{block}\n"
    path.write_text(text)


if __name__ == "__main__":
    sys.exit(main())
