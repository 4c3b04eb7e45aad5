"""What a run left behind, as one SHA-256 per output: to prove runs agree.

Two runs agree when they leave the same fingerprint: the same lake rows
(every Parquet partition and manifest), the same warehouse rows (every table),
the same model files, the same CSVs for the day and the same write-back rows.
Rows are hashed in sorted order, so a different physical row order (DuckDB's
scan order, a Parquet row group split) does not count as a difference, and the
home folder's own path is blanked, so two homes can be compared. Stage
timings, logs and the HTML reports are left out: they hold wall times.
"""

from __future__ import annotations

import hashlib
import io as stdio
import json
import sqlite3
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from pipeline.settings import Settings

DAY_FILES = ("replenishment_plan.csv", "promotion_adjustments.csv")


def _digest(lines: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest()


def _homes(settings: Settings, copied_from: Path | None) -> tuple[str, ...]:
    """The home paths to blank: this home's, and the one it was copied from
    (files written before the copy name that one)."""
    return (str(settings.fusion_home),) + ((str(copied_from),) if copied_from else ())


def _blank(text: str, homes: tuple[str, ...]) -> str:
    for home in homes:
        text = text.replace(home, "<home>")
    return text


def _rows(frame, homes: tuple[str, ...]) -> list[str]:
    buffer = stdio.StringIO()
    frame.to_csv(buffer, index=False, header=False)
    header = ",".join(map(str, frame.columns))
    return [header] + [_blank(line, homes) for line in buffer.getvalue().splitlines()]


def lake(settings: Settings, copied_from: Path | None = None) -> dict[str, str]:
    """Sorted-row hash per lake file (Parquet rows, JSON manifest text)."""
    homes, out = _homes(settings, copied_from), {}
    for path in sorted(settings.lake.rglob("*")):
        key = str(path.relative_to(settings.fusion_home))
        if path.suffix == ".parquet":
            out[key] = _digest(_rows(pq.read_table(path).to_pandas(), homes))
        elif path.suffix == ".json":
            out[key] = _digest(_blank(path.read_text(), homes).splitlines())
    return out


def warehouse(settings: Settings, copied_from: Path | None = None) -> dict[str, str]:
    """Sorted-row hash per warehouse table."""
    homes = _homes(settings, copied_from)
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        tables = sorted(t for (t,) in con.execute("show tables").fetchall())
        return {
            f"warehouse/{t}": _digest(_rows(con.execute(f'from "{t}"').df(), homes))
            for t in tables
        }


def model(settings: Settings, version: str) -> dict[str, str]:
    """Byte hash per file of registry version ``version`` and the decisions."""
    files = [*sorted((settings.registry / version).iterdir())]
    files.append(settings.registry / "decisions.json")
    return {
        str(p.relative_to(settings.fusion_home)): hashlib.sha256(
            p.read_bytes()
        ).hexdigest()
        for p in files
    }


def write_back(settings: Settings) -> dict[str, str]:
    """Sorted-row hash of marketing's adjustments table and the ledger."""
    path = settings.fusion_home / "marketing.db"
    with sqlite3.connect(path) as con:
        return {
            f"marketing/{table}": _digest(
                [repr(row) for row in con.execute(f"select * from {table}")]
            )
            for table in ("promotion_adjustments", "fusion_writeback_ledger")
        }


def day(
    settings: Settings,
    ds: str,
    model_version: str | None = None,
    copied_from: Path | None = None,
) -> dict:
    """The whole fingerprint after run date ``ds``: lake, warehouse, model,
    the day's CSVs (bytes) and the write-back (SQLite marketing DB).

    ``copied_from``: the home this one was copied from, to compare the two.
    """
    out = lake(settings, copied_from) | warehouse(settings, copied_from)
    out |= write_back(settings)
    out |= model(settings, model_version or ds)
    for name in DAY_FILES:
        path = settings.out_dir(ds) / name
        out[f"out/{ds}/{name}"] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def days(
    settings: Settings, run_dates: list[str], copied_from: Path | None = None
) -> dict:
    """The fingerprint after several run dates: the lake, the last warehouse,
    the write-back, and every day's CSVs and model (its report names it)."""
    found = lake(settings, copied_from) | warehouse(settings, copied_from)
    found |= write_back(settings)
    for ds in run_dates:
        report = json.loads((settings.out_dir(ds) / "run_report.json").read_text())
        one = day(settings, ds, report["forecast"]["model_version"])
        found |= {k: v for k, v in one.items() if k.startswith(("out/", "registry/"))}
    return found


def differences(first: dict, second: dict) -> list[str]:
    """Keys whose hashes differ or that only one fingerprint has."""
    return sorted(
        k for k in first.keys() | second.keys() if first.get(k) != second.get(k)
    )


def temp_files(settings: Settings) -> list[Path]:
    """Temporary files and folders a killed writer may leave (dot-prefixed)."""
    return sorted(
        p
        for p in settings.fusion_home.rglob(".*")
        if not p.relative_to(settings.fusion_home).parts[0].startswith("landing")
    )
