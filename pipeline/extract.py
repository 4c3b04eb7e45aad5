"""Extract: landing drops -> ``lake/raw/<source>/ds=<day>/`` as Parquet.

Values are kept as the source sent them (strings), with the file and line each
row came from, so a quarantined row can be traced; typing happens in
validation. PII is pseudonymised here, before anything is written.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from pipeline import io
from pipeline.pii import pii_key, pseudonymise
from pipeline.settings import Settings
from pipeline.sources import BadFileError, Source, load_source

log = logging.getLogger(__name__)


def raw_partition(settings: Settings, source: str, day: str) -> Path:
    """Path of one day's raw Parquet file for ``source``."""
    return settings.lake / "raw" / source / f"ds={day}" / "part-0.parquet"


def extract_source(settings: Settings, source: str, ds: str) -> dict:
    """Extract ``source`` for logical date ``ds``; returns what was written.

    The day ``ds`` is always (re-)extracted. Earlier landing drops of the
    source that are not in the lake yet are extracted too (the first run on a
    market loads its history); each partition depends only on its own drop,
    so re-runs and backfills give the same files.
    """
    src = load_source(source, settings.expectations_dir)
    days = _days_to_extract(settings, src, ds)
    if ds not in days:
        if src.required:
            raise BadFileError(
                f"{settings.landing / ds / src.file}: file missing (rule: required "
                f"source). {source} is needed for today's decisions; land the file "
                "and re-run the day."
            )
        log.warning("%s: no drop for %s; the last good snapshot is used", source, ds)
    extra: set[str] = set()
    for day in days:
        frame, unexpected = read_drop(settings.landing / day / src.file, src)
        extra |= unexpected
        if src.pii:
            key = pii_key(settings)
            for col in src.pii:
                frame[f"{col}_pseudonym"] = pseudonymise(frame.pop(col), key)
        io.write_parquet(frame, raw_partition(settings, source, day))
    return {
        "source": source,
        "ds": ds,
        "days": days,
        "landed_today": ds in days,
        "extra_columns": sorted(extra),
    }


def _days_to_extract(settings: Settings, src: Source, ds: str) -> list[str]:
    landed = sorted(
        p.parent.name
        for p in settings.landing.glob(f"*/{src.file}")
        if p.parent.name <= ds
    )
    return [
        d
        for d in landed
        if d == ds or not raw_partition(settings, src.name, d).exists()
    ]


def read_drop(path: Path, src: Source) -> tuple[pd.DataFrame, set[str]]:
    """Read one drop as strings, with ``_source_file`` and ``_source_line``.

    Raises ``BadFileError`` naming the file and rule when it is empty,
    unreadable, or misses contract columns. Returns the frame (contract columns
    only) and the set of unexpected extra columns, which are kept out.
    """
    try:
        if src.format == "csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
            first_line = 2  # line 1 is the header
        else:
            frame = pd.read_json(path, lines=True, dtype=False).astype("string")
            frame = frame.astype(object).where(frame.notna(), None)
            first_line = 1
    except (pd.errors.EmptyDataError, ValueError, UnicodeDecodeError) as err:
        raise BadFileError(
            f"{path}: unreadable (rule: readable {src.format}): {err}. "
            "Re-export the file and re-run the day."
        ) from err
    missing = [c for c in src.columns if c not in frame.columns]
    if missing:
        raise BadFileError(
            f"{path}: missing column(s) {missing} (rule: schema); expected "
            f"{list(src.columns)}, found {list(frame.columns)}. Fix the export or "
            "rename the columns, then re-run the day."
        )
    if frame.empty:
        raise BadFileError(f"{path}: no rows (rule: non-empty file). Re-export it.")
    extra = set(frame.columns) - set(src.columns)
    frame = frame[list(src.columns)].astype(object)
    frame = frame.where(frame.notna(), None)
    frame["_source_file"] = str(path)
    frame["_source_line"] = range(first_line, first_line + len(frame))
    return frame, extra
