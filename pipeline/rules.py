"""Row rules: cast to the contract, run the source's GX suite, check references.

Everything a rule needs is data in ``expectations/<source>.json``: the GX
expectations, and in ``meta.references`` the columns whose values must exist
in another source. Two names are provided to the suites besides the columns:

- ``_drop_end`` (column): the end of the day the row's drop landed, so a rule
  "no dates after the run date" is a column-pair expectation against it;
- ``date_floor`` (suite parameter, ``{"$PARAMETER": "date_floor"}``): the
  earliest believable date, from the settings.
"""

from __future__ import annotations

import logging
import os

import duckdb
import pandas as pd

from pipeline.casting import cast_frame
from pipeline.settings import Settings
from pipeline.sources import BadFileError, Source

log = logging.getLogger(__name__)
FAILURE_COLUMNS = ["_row_id", "rule", "column"]


def check_rows(settings: Settings, src: Source, raw: pd.DataFrame, ds: str):
    """Cast and check ``raw`` (one or more drops, ``_ds`` says which).

    Returns the typed frame, the failures as (_row_id, rule, column), one row
    per broken rule, and the GX validation result (for Data Docs).
    """
    typed, failures = cast_frame(raw, src.types)
    for col, kind in src.optional_columns.items():
        if kind == "bool":  # an absent flag means "not flagged"
            typed[col] = typed[col].fillna(False)
    castable = typed[~typed._row_id.isin(failures._row_id)].assign(
        _drop_end=lambda f: pd.to_datetime(f._ds) + pd.Timedelta(days=1)
    )
    params = {"date_floor": pd.Timestamp(settings.date_floor)}
    suite_failures, result = run_suite(castable, src, params)
    refs = reference_failures(settings, src, castable, ds)
    return typed, pd.concat([failures, suite_failures, refs], ignore_index=True), result


def run_suite(typed: pd.DataFrame, src: Source, params: dict):
    """Run the source's GX suite; returns failing rows and the GX result."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    # GX sets this module's logger to INFO on import, so the level set on
    # "great_expectations" (pipeline/cli.py) does not reach it, and every
    # drop logged "Created temporary directory ... for ephemeral docs site".
    logging.getLogger(ProgressBarsConfig.__module__).setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    asset = context.data_sources.add_pandas(src.name).add_dataframe_asset(src.name)
    batch = asset.add_batch_definition_whole_dataframe("all").get_batch(
        batch_parameters={"dataframe": numpy_numbers(typed).reset_index(drop=True)}
    )
    suite = gx.ExpectationSuite(
        name=src.name, expectations=per_drop(src.suite["expectations"])
    )
    result = batch.validate(
        suite,
        expectation_parameters=params,
        result_format={
            "result_format": "COMPLETE",
            "unexpected_index_column_names": ["_row_id"],
        },
    )
    rows = []
    for r in result.results:
        if not r.success:
            rows += _failed_rows(src, r)
    return pd.DataFrame(rows, columns=FAILURE_COLUMNS), result


def numpy_numbers(typed: pd.DataFrame) -> pd.DataFrame:
    """``typed`` with nullable Int64/Float64 columns as float64 (nulls as NaN).

    GX compares numpy numbers vectorised but calls a Python function per value
    for pandas' nullable dtypes: on a 220k-row orders chunk that was 9 of 58 s.
    The values compare the same (counts and prices are far below 2**53).
    """
    nullable = [c for c, t in typed.dtypes.items() if t.name in ("Int64", "Float64")]
    return typed.astype(dict.fromkeys(nullable, "float64"))


def _failed_rows(src: Source, r) -> list[dict]:
    cfg = r.expectation_config
    listed = [c for c in cfg.kwargs.get("column_list") or [] if c != "_ds"]
    pair = [cfg.kwargs.get("column_A"), cfg.kwargs.get("column_B")]
    column = cfg.kwargs.get("column") or ",".join(
        listed or [c for c in pair if c and c != "_drop_end"]
    )
    index = r.result.get("unexpected_index_list")
    if index is None:  # the expectation could not run at all: a file-level fault
        raise BadFileError(
            f"{src.name}: rule {cfg.type} on {column} could not be evaluated "
            f"({r.exception_info}). Check the file against "
            f"expectations/{src.name}.json."
        )
    rule = (cfg.meta or {}).get("rule") or cfg.type  # a suite may name its rule
    return [
        {"_row_id": int(i["_row_id"]), "rule": rule, "column": column} for i in index
    ]


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


def reference_failures(
    settings: Settings, src: Source, typed: pd.DataFrame, ds: str
) -> pd.DataFrame:
    """Rows whose referencing value is not a key of the referenced source.

    The reference is the latest raw drop of that source on or before ``ds``
    (every extract of a run finishes before any validation starts, so it is
    there whatever order the validations run in). Nulls are left to the
    not-null rules.
    """
    found = [pd.DataFrame(columns=FAILURE_COLUMNS)]
    for ref in src.references:
        column, target = ref["column"], f"{ref['source']}.{ref['source_column']}"
        if column not in src.types:
            raise ValueError(f"expectations/{src.name}.json: unknown column {column}")
        keys = _reference_keys(settings, ref["source"], ref["source_column"], ds)
        if keys is None:
            log.warning("%s: no %s drop to check %s against", src.name, target, column)
            continue
        values = typed[["_row_id", column]].rename(columns={column: "value"})
        missing = _anti_join(values, keys)
        found.append(
            pd.DataFrame(
                {"_row_id": missing, "rule": f"reference:{target}", "column": column}
            )
        )
    return pd.concat(found, ignore_index=True)


def _anti_join(values: pd.DataFrame, keys: pd.Series) -> list[int]:
    """Row ids whose non-null ``value`` is not among ``keys`` (DuckDB anti join)."""
    key_frame = pd.DataFrame({"key": keys.dropna().astype(str).unique()})
    con = duckdb.connect()
    try:
        con.register("row_values", values)
        con.register("ref_keys", key_frame)
        rows = con.execute(
            "select v._row_id from row_values v anti join ref_keys k "
            "on cast(v.value as varchar) = k.key "
            "where v.value is not null order by v._row_id"
        ).fetchall()
    finally:
        con.close()
    return [int(r[0]) for r in rows]


def _reference_keys(settings: Settings, source: str, column: str, ds: str):
    drops = sorted(
        p
        for p in (settings.lake / "raw" / source).glob("ds=*/part-0.parquet")
        if p.parent.name[3:] <= ds
    )
    if not drops:
        return None
    return pd.read_parquet(drops[-1], columns=[column])[column]
