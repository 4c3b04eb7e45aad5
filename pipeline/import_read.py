"""Read a user's export and map it onto one contract source's columns.

Files are read as text (so ``00123`` stays a SKU, not a number), with the
mapping's delimiter, encoding and decimal mark. Each contract column comes
from the user's column, from a DuckDB SQL expression over the user's columns
(numbers typed, decimal comma handled), or from a constant. Expressions run in
a DuckDB connection with external access switched off: they can compute, not
read or write files. Columns left unmapped stay absent for the importer's
documented defaults.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from pipeline.mapping import MappingError, SourceMapping, check_columns

LINEAGE = ["_file", "_line"]


def read_source(spec: SourceMapping, input_dir: Path, types: dict[str, str]):
    """The mapped columns of ``spec`` as strings, with ``_file`` and ``_line``.

    ``types`` are the contract's column types: numbers of a mapped column are
    normalised to ``1234.5`` (decimal mark and thousands separator).

    Returns ``(frame, files)``. Raises ``MappingError`` when no file matches,
    a file cannot be read, or a mapped column is missing from a file.
    """
    files = sorted(Path(input_dir).glob(spec.files))
    if not files:
        raise MappingError(
            f"[sources.{spec.name}] files = {spec.files!r}: no file matches in "
            f"{input_dir}; files there: {sorted(p.name for p in input_dir.iterdir())}"
        )
    frames = []
    for file in files:
        raw = _read_file(file, spec)
        found = [c for c in raw.columns if c not in LINEAGE]
        check_columns(spec, list(types), found, file)
        frames.append(_mapped(raw, spec, file, types))
    return pd.concat(frames, ignore_index=True), files


def _read_file(path: Path, spec: SourceMapping) -> pd.DataFrame:
    """The whole file as text columns, with the file and line of every row.

    A CSV row's line assumes one line per record (header on line 1); a JSON
    lines or Parquet row's "line" is its row number.
    """
    try:
        if spec.format == "csv":
            frame = pd.read_csv(
                path,
                sep=spec.delimiter,
                encoding=spec.encoding,
                dtype=str,
                keep_default_na=False,
                na_values=[""],
            )
            lines = range(2, len(frame) + 2)  # line 1 is the header
        elif spec.format == "jsonl":
            frame = pd.read_json(path, lines=True, dtype=False, encoding=spec.encoding)
            lines = range(1, len(frame) + 1)
        else:
            frame = pd.read_parquet(path)
            lines = range(1, len(frame) + 1)
    except (ValueError, UnicodeDecodeError, OSError) as err:
        raise MappingError(
            f"{path}: cannot read as {spec.format} (delimiter {spec.delimiter!r}, "
            f"encoding {spec.encoding}): {err}"
        ) from err
    text = frame.astype("string").astype(object).where(frame.notna(), None)
    return text.assign(_file=str(path), _line=list(lines))


def _numbers(values: pd.Series, spec: SourceMapping) -> pd.Series:
    """Text with the mapping's thousands and decimal marks as plain ``1234.5``."""
    text = values.astype("string")
    if spec.thousands:
        text = text.str.replace(spec.thousands, "", regex=False)
    if spec.decimal != ".":
        text = text.str.replace(spec.decimal, ".", regex=False)
    return text


def typed_columns(raw: pd.DataFrame, spec: SourceMapping) -> pd.DataFrame:
    """The user's columns for expressions: a column whose every value is a
    number (after the decimal mark is normalised) becomes a float column."""
    typed = raw.drop(columns=LINEAGE).copy()
    for col in typed.columns:
        text = _numbers(typed[col], spec)
        num = pd.to_numeric(text, errors="coerce")
        if num.notna().sum() == typed[col].notna().sum() and num.notna().any():
            typed[col] = num.astype(float)
    return typed


def _mapped(raw: pd.DataFrame, spec: SourceMapping, file: Path, types: dict):
    out = raw[LINEAGE].copy()
    exprs = {n: s.expr for n, s in spec.columns.items() if s.expr is not None}
    if exprs:
        out = out.join(_evaluate(typed_columns(raw, spec), exprs, spec.name, file))
    for name, col in spec.columns.items():
        if col.column is not None:
            values = raw[col.column]
            if types.get(name) in ("int", "float"):
                values = _numbers(values, spec).astype(object)
            out[name] = values.where(raw[col.column].notna(), None)
        elif col.value is not None:
            out[name] = col.value
    return out


def _evaluate(typed: pd.DataFrame, exprs: dict, source: str, file: Path):
    """Each expression over the user's typed columns, as text, one per row."""
    for name, expr in exprs.items():
        if ";" in expr:
            raise MappingError(
                f"[sources.{source}.columns] {name}: one SQL expression, no ';'"
            )
    con = duckdb.connect()
    try:
        con.register("user_rows", typed)
        con.execute("create table src as select * from user_rows")
        con.unregister("user_rows")
        con.execute("set enable_external_access = false")
        con.execute("set lock_configuration = true")
        out = {}
        for name, expr in exprs.items():
            try:
                values = con.execute(
                    f"select cast(({expr}) as varchar) as v from src"
                ).df()["v"]
            except duckdb.Error as err:
                raise MappingError(
                    f"[sources.{source}.columns] {name} = {{ expr = {expr!r} }}: "
                    f"cannot evaluate on {file}: {err}. Columns found: "
                    f"{', '.join(typed.columns)}"
                ) from err
            out[name] = values.astype(object).where(values.notna(), None)
    finally:
        con.close()
    return pd.DataFrame(out, index=typed.index)


def parse_times(frame: pd.DataFrame, column: str, fmt: str | None, source: str):
    """``frame[column]`` parsed with ``fmt`` (ISO 8601 when none) as Timestamps.

    Raises ``MappingError`` naming the first rows (file and line) whose value
    does not match, the format and the value.
    """
    values = frame[column]
    parsed = pd.to_datetime(values, format=fmt or "ISO8601", errors="coerce")
    bad = values.notna() & parsed.isna()
    if bad.any():
        rows = frame[bad].head(3).to_dict("records")
        where = "; ".join(
            f"{r['_file']} line {r['_line']}: {r[column]!r}" for r in rows
        )
        raise MappingError(
            f"[sources.{source}.columns] {column}: {int(bad.sum())} value(s) do not "
            f"match the date format {fmt or 'ISO 8601'!r} (rule: date format): "
            f"{where}. Set format = \"...\" for this column (e.g. '%d-%m-%Y')."
        )
    return parsed
