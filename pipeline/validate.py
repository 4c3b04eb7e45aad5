"""Validate: raw partitions -> typed ``lake/clean/`` rows + ``lake/quarantine/``.

Each row is cast to the contract's types, then checked against the source's
Great Expectations suite. A row that breaks a rule is quarantined with the
rule, the column and the file and line it came from; nothing is dropped:
input rows = accepted rows + quarantined rows, per source and day.
"""

from __future__ import annotations

import logging
import os

import pandas as pd

from pipeline import io
from pipeline.casting import cast_frame
from pipeline.extract import raw_partition
from pipeline.settings import Settings
from pipeline.sources import BadFileError, Source, load_source

log = logging.getLogger(__name__)
MAX_BAD_ROW_SHARE = 0.2


def validate_source(settings: Settings, source: str, ds: str, days: list[str]) -> dict:
    """Validate the given raw days of ``source``; returns today's row counts.

    Raw days up to ``ds`` that were never validated (a run died in between)
    are validated too.
    """
    src = load_source(source, settings.expectations_dir)
    days = sorted(set(days) | _unvalidated(settings, source, ds))
    if not days:
        return _counts_for(settings, source, ds)
    raw = pd.concat(
        [
            pd.read_parquet(raw_partition(settings, source, d)).assign(_ds=d)
            for d in days
        ],
        ignore_index=True,
    )
    raw["_row_id"] = range(len(raw))
    typed, failures = cast_frame(raw, _types(src))
    castable = typed[
        ~typed._row_id.isin(failures._row_id)
    ]  # a failed cast reads as null
    failures = pd.concat([failures, run_suite(castable, src)], ignore_index=True)
    reasons = failures.groupby("_row_id").agg(
        rule=("rule", "; ".join), column=("column", lambda c: "; ".join(map(str, c)))
    )
    bad = raw._row_id.isin(reasons.index)
    quarantine = raw[bad].join(reasons, on="_row_id")
    accepted = typed[~typed._row_id.isin(reasons.index)]
    _check_batch(src, raw, quarantine)
    for day in days:
        _write_day(settings, src, day, raw, accepted, quarantine)
    return _counts_for(settings, source, ds)


def _types(src: Source) -> dict[str, str]:
    return {
        (f"{c}_pseudonym" if c in src.pii else c): t for c, t in src.columns.items()
    }


def run_suite(typed: pd.DataFrame, src: Source) -> pd.DataFrame:
    """Run the source's GX suite; returns failing rows as (_row_id, rule, column)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    asset = context.data_sources.add_pandas(src.name).add_dataframe_asset(src.name)
    batch = asset.add_batch_definition_whole_dataframe("all").get_batch(
        batch_parameters={"dataframe": typed.reset_index(drop=True)}
    )
    suite = gx.ExpectationSuite(
        name=src.name, expectations=per_drop(src.suite["expectations"])
    )
    result = batch.validate(
        suite,
        result_format={
            "result_format": "COMPLETE",
            "unexpected_index_column_names": ["_row_id"],
        },
    )
    rows = []
    for r in result.results:
        if r.success:
            continue
        cfg = r.expectation_config
        listed = [c for c in cfg.kwargs.get("column_list") or [] if c != "_ds"]
        column = cfg.kwargs.get("column") or ",".join(
            listed or [cfg.kwargs.get("column_A", ""), cfg.kwargs.get("column_B", "")]
        )
        index = r.result.get("unexpected_index_list")
        if index is None:  # the expectation could not run at all: a file-level fault
            raise BadFileError(
                f"{src.name}: rule {cfg.type} on {column} could not be evaluated "
                f"({r.exception_info}). Check the file against "
                f"expectations/{src.name}.json."
            )
        rows += [
            {"_row_id": int(i["_row_id"]), "rule": cfg.type, "column": column}
            for i in index
        ]
    return pd.DataFrame(rows, columns=["_row_id", "rule", "column"])


def per_drop(expectations: list[dict]) -> list[dict]:
    """Scope uniqueness rules to one drop: several days are validated at once,
    and a line re-sent on a later day (a correction) is not a duplicate."""
    out = []
    for e in expectations:
        kw = e["kwargs"]
        if e["type"] == "expect_column_values_to_be_unique":
            e = {
                "type": "expect_compound_columns_to_be_unique",
                "kwargs": {
                    **{k: v for k, v in kw.items() if k != "column"},
                    "column_list": [kw["column"], "_ds"],
                },
            }
        elif e["type"] == "expect_compound_columns_to_be_unique":
            e = {
                "type": e["type"],
                "kwargs": {**kw, "column_list": [*kw["column_list"], "_ds"]},
            }
        out.append(e)
    return out


def _check_batch(src: Source, raw: pd.DataFrame, quarantine: pd.DataFrame) -> None:
    for day, rows in raw.groupby("_ds"):
        bad = quarantine[quarantine._ds == day]
        if len(bad) > MAX_BAD_ROW_SHARE * len(rows):
            top = bad.rule.value_counts().head(3).to_dict()
            raise BadFileError(
                f"{rows._source_file.iat[0]}: {len(bad)} of {len(rows)} rows break "
                f"rules (rule: at most {MAX_BAD_ROW_SHARE:.0%} bad rows; most "
                f"broken: {top}). "
                f"First bad line: {bad._source_line.min()}. Fix the export and re-run."
            )


def _write_day(settings, src, day, raw, accepted, quarantine) -> None:
    part = f"ds={day}/part-0.parquet"
    good = accepted[accepted._ds == day].drop(
        columns=["_row_id", "_ds", "_source_file", "_source_line"]
    )
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


def _unvalidated(settings: Settings, source: str, ds: str) -> set[str]:
    raw = (
        p.parent.name[3:]
        for p in (settings.lake / "raw" / source).glob("ds=*/*.parquet")
    )
    manifests = settings.lake / "manifest" / source
    return {d for d in raw if d <= ds and not (manifests / f"ds={d}.json").exists()}


def _counts_for(settings: Settings, source: str, ds: str) -> dict:
    """Row counts of the drop used for ``ds``: that day's, else the latest before it."""
    found = sorted(
        p
        for p in (settings.lake / "manifest" / source).glob("ds=*.json")
        if p.stem[3:] <= ds
    )
    if not found:
        raise BadFileError(
            f"{source}: no validated drop on or before {ds}; land one first."
        )
    counts = io.read_json(found[-1])
    counts["snapshot_day"] = counts.pop("ds")
    counts["fresh"] = counts["snapshot_day"] == ds
    return counts
