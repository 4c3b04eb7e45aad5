"""Validate: raw partitions -> typed ``lake/clean/`` rows + ``lake/quarantine/``.

Each row is cast to the contract's types, then checked against the source's
Great Expectations suite and its references (``pipeline.rules``). A row that
breaks a rule is quarantined with the rule, the column and the file and line
it came from; nothing is dropped: input rows = accepted rows + quarantined
rows, per source and day, checked here before anything is written.

A drop that is bad as a whole (unusable file, too many bad rows, far fewer
rows than the drop before) stops the source. A required source then fails
the run with the message; an optional one is used as of its last good drop,
and the counts say so in ``fallback``.
"""

from __future__ import annotations

import logging
import shutil

import pandas as pd
import pyarrow.parquet as pq

from pipeline import datadocs, io
from pipeline.extract import raw_partition
from pipeline.rules import check_rows
from pipeline.settings import Settings
from pipeline.sources import BadFileError, Source, load_source

log = logging.getLogger(__name__)
LINEAGE = ["_row_id", "_ds", "_source_file", "_source_line"]


def validate_source(
    settings: Settings,
    source: str,
    ds: str,
    days: list[str],
    bad_drops: dict[str, str] | None = None,
) -> dict:
    """Validate the given raw days of ``source``; returns the counts used for ``ds``.

    ``bad_drops`` (day -> message) are the drops extract could not use. Raw
    days up to ``ds`` that were never validated (a run died in between) are
    validated too. Raises ``BadFileError`` when a required source has a bad drop.
    """
    src = load_source(source, settings.expectations_dir)
    datadocs.forget_page(settings, ds, source)
    bad_drops = dict(bad_drops or {})
    _forget_days(settings, source, bad_drops)
    _stop_if_required(src, bad_drops)
    days = sorted((set(days) | _unvalidated(settings, source, ds)) - set(bad_drops))
    validated, gx_result = [], None
    earlier = _manifest_rows(settings, source)
    for chunk in day_chunks(settings, source, days):
        done, errors, gx_result = _validate_chunk(settings, src, ds, chunk, earlier)
        validated += done
        bad_drops |= errors
    # The page shows the last chunk: the one holding the newest drops.
    docs = datadocs.write_page(settings, ds, source, gx_result) if days else None
    counts = _counts_for(settings, src, ds, bad_drops)
    return counts | {"days_validated": validated, "data_docs": docs}


def day_chunks(settings: Settings, source: str, days: list[str]) -> list[list[str]]:
    """``days`` in order, grouped so a group holds at most
    ``settings.validation_chunk_rows`` raw rows (a bigger day is a group alone).

    A first run on a market validates years of drops: one frame of them all
    would not fit in memory. A drop is never split, so the per-drop rules
    (uniqueness, the share of bad rows) still see the whole drop.
    """
    chunks: list[list[str]] = []
    rows_in_chunk = 0
    for day in days:
        rows = pq.read_metadata(raw_partition(settings, source, day)).num_rows
        if not chunks or rows_in_chunk + rows > settings.validation_chunk_rows:
            chunks.append([])
            rows_in_chunk = 0
        chunks[-1].append(day)
        rows_in_chunk += rows
    return chunks


def _validate_chunk(settings, src: Source, ds: str, days, earlier: dict[str, int]):
    """Check and write the drops of ``days``; returns their counts, the drops too
    bad to use (day -> message) and the GX result.

    ``earlier`` (day -> input rows of each drop seen so far) is updated, so the
    next chunk compares its first drop with this chunk's last.
    """
    raw = _read_raw(settings, src.name, days)
    typed, failures, gx_result = check_rows(settings, src, raw, ds)
    quarantine, accepted = _split(raw, typed, failures)
    batch_errors = _batch_errors(settings, src, raw, quarantine, earlier)
    _forget_days(settings, src.name, batch_errors)
    _stop_if_required(src, batch_errors)
    done = [
        _write_day(settings, src, day, raw, accepted, quarantine)
        for day in days
        if day not in batch_errors
    ]
    return done, batch_errors, gx_result


def _read_raw(settings: Settings, source: str, days: list[str]) -> pd.DataFrame:
    """The raw rows of ``days``, with ``_ds`` (their drop) and a ``_row_id``."""
    raw = pd.concat(
        [
            pd.read_parquet(raw_partition(settings, source, d)).assign(_ds=d)
            for d in days
        ],
        ignore_index=True,
    )
    raw["_row_id"] = range(len(raw))
    return raw


def _stop_if_required(src: Source, bad_drops: dict[str, str]) -> None:
    if bad_drops and src.required:
        raise BadFileError(
            f"{src.name} is required for today's decisions and a drop is bad: "
            + " | ".join(bad_drops[d] for d in sorted(bad_drops))
        )


def _split(raw, typed, failures) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Quarantined rows (original values + rule + column) and accepted typed rows."""
    reasons = failures.groupby("_row_id").agg(
        rule=("rule", "; ".join), column=("column", lambda c: "; ".join(map(str, c)))
    )
    quarantine = raw[raw._row_id.isin(reasons.index)].join(reasons, on="_row_id")
    return quarantine, typed[~typed._row_id.isin(reasons.index)]


def _batch_errors(settings, src, raw, quarantine, earlier) -> dict[str, str]:
    """Drops too bad to use: day -> message naming file, rule and what to do.

    ``earlier``: input rows per drop before these (updated with these drops).
    """
    errors = {}
    for day, rows in raw.groupby("_ds"):
        path = rows._source_file.iat[0]
        bad = quarantine[quarantine._ds == day]
        before = {d: n for d, n in earlier.items() if d < day}
        if len(bad) > settings.max_bad_row_share * len(rows):
            top = bad.rule.value_counts().head(3).to_dict()
            errors[day] = (
                f"{path}: {len(bad)} of {len(rows)} rows break rules (rule: at most "
                f"{settings.max_bad_row_share:.0%} bad rows; most broken: {top}). "
                f"First bad line: {bad._source_line.min()}. Fix the export and re-run."
            )
        elif before:
            last = max(before)
            share = settings.min_row_share_of_previous
            if len(rows) < share * before[last]:
                errors[day] = (
                    f"{path}: {len(rows)} rows, against {before[last]} in the drop "
                    f"of {last} (rule: at least {share:.0%} of the previous drop). "
                    "The export looks incomplete; re-export it and re-run the day."
                )
        earlier[day] = len(rows)
    return errors


def _manifest_rows(settings: Settings, source: str) -> dict[str, int]:
    """Input rows of every validated drop of ``source``, by day."""
    return {
        p.stem[3:]: io.read_json(p)["input_rows"]
        for p in (settings.lake / "manifest" / source).glob("ds=*.json")
    }


def _write_day(settings, src, day, raw, accepted, quarantine) -> dict:
    """Write one day's clean rows, quarantine and manifest; returns its counts."""
    part = f"ds={day}/part-0.parquet"
    good = accepted[accepted._ds == day].drop(columns=LINEAGE)
    bad = quarantine[quarantine._ds == day].drop(columns=["_row_id"])
    n_in = int((raw._ds == day).sum())
    if n_in != len(good) + len(bad):
        raise AssertionError(
            f"{src.name} {day}: {n_in} rows in, {len(good)} + {len(bad)} out"
        )
    io.write_parquet(good, settings.lake / "clean" / src.name / part)
    io.write_parquet(
        bad.astype({"_source_line": "int64"}),
        settings.lake / "quarantine" / src.name / part,
    )
    counts = {
        "source": src.name,
        "ds": day,
        "input_rows": n_in,
        "accepted_rows": len(good),
        "quarantined_rows": len(bad),
        "file": str(raw[raw._ds == day]._source_file.iat[0]),
        "rules_broken": bad.rule.value_counts().to_dict(),
    }
    io.write_json(counts, settings.lake / "manifest" / src.name / f"ds={day}.json")
    return {
        k: counts[k] for k in ("ds", "input_rows", "accepted_rows", "quarantined_rows")
    }


def _forget_days(settings: Settings, source: str, days) -> None:
    """Remove every partition of bad drops, so no stale copy of one is ever used."""
    for day in days:
        raw_partition(settings, source, day).unlink(missing_ok=True)
        for area in ("clean", "quarantine"):
            part = settings.lake / area / source / f"ds={day}"
            shutil.rmtree(part, ignore_errors=True)
        (settings.lake / "manifest" / source / f"ds={day}.json").unlink(missing_ok=True)


def _unvalidated(settings: Settings, source: str, ds: str) -> set[str]:
    raw = (
        p.parent.name[3:]
        for p in (settings.lake / "raw" / source).glob("ds=*/*.parquet")
    )
    manifests = settings.lake / "manifest" / source
    return {d for d in raw if d <= ds and not (manifests / f"ds={d}.json").exists()}


def _counts_for(settings, src: Source, ds: str, bad_drops: dict[str, str]) -> dict:
    """Row counts of the drop used for ``ds``: that day's, else the latest before it.

    ``fallback`` says why an optional source is used as of an older drop.
    """
    found = sorted(
        p
        for p in (settings.lake / "manifest" / src.name).glob("ds=*.json")
        if p.stem[3:] <= ds
    )
    problems = " | ".join(bad_drops[d] for d in sorted(bad_drops))
    if not found:
        raise BadFileError(
            f"{src.name}: no validated drop on or before {ds}; land one first. "
            + problems
        )
    counts = io.read_json(found[-1])
    counts["snapshot_day"] = counts.pop("ds")
    counts["fresh"] = counts["snapshot_day"] == ds
    counts["fallback"] = None
    if problems and not counts["fresh"]:
        # Older bad drops retried today do not make a fresh drop a fallback.
        counts["fallback"] = (
            f"{problems} -> {src.name} is optional: the run uses its last good "
            f"drop, of {counts['snapshot_day']}."
        )
        log.warning("%s", counts["fallback"])
    elif problems:
        log.warning("%s (older drops: today's drop is used)", problems)
    return counts
