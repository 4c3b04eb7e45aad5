"""The import mapping: how a retailer's own exports map onto the extract contract.

A mapping is a TOML file (see ``docs/mapping.md``). It names, per contract
source, the user's files and format, and for each contract column either the
user's column, a DuckDB SQL expression over the user's columns, or a constant;
columns left out take the documented defaults of ``pipeline.importer``.
Only ``orders`` is required. ``load_mapping`` checks the file's shape;
``check_columns`` checks it against the columns the user's files really hold,
naming the missing or misspelled column, close matches and the columns found.
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.sources import SOURCES

FORMATS = ("csv", "jsonl", "parquet")
GRAINS = ("day", "week")
MEASURES = ("units", "revenue")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
WEEKDAYS += ("sunday",)
# Columns the orders mapping may carry besides the contract's: they describe the
# products and locations that are derived from order lines when not exported.
ORDER_EXTRAS = ("category", "region", "revenue")
SPEC_KEYS = {"column", "expr", "value", "format"}


class MappingError(ValueError):
    """The mapping cannot be used; the message names the file, source and fix."""


@dataclass(frozen=True)
class ColumnSpec:
    """Where one contract column comes from: exactly one of column/expr/value."""

    column: str | None = None  # the user's column, taken as it is
    expr: str | None = None  # DuckDB SQL over the user's (typed) columns
    value: str | None = None  # a constant
    format: str | None = None  # strptime format of a date or timestamp


@dataclass(frozen=True)
class SourceMapping:
    """One source: the user's files, how to read them, and the column specs."""

    name: str
    files: str  # glob under the input folder
    format: str = "csv"
    delimiter: str = ","
    encoding: str = "utf-8"
    decimal: str = "."
    thousands: str = ""
    columns: dict[str, ColumnSpec] = field(default_factory=dict)


@dataclass(frozen=True)
class Mapping:
    """A whole mapping file: the grain, the measure, the plan policy, sources."""

    path: Path
    sources: dict[str, SourceMapping]
    grain: str = "day"
    week_start: str = "monday"
    measure: str = "units"
    plan: str = "defaults"  # defaults | skip, when inventory or costs are missing
    defaults: dict = field(default_factory=dict)


def load_mapping(path: Path) -> Mapping:
    """Read and check the mapping file at ``path``; raises ``MappingError``."""
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise MappingError(f"{path}: cannot read the mapping: {err}") from err
    run = doc.get("import", {})
    mapping = Mapping(
        path=path,
        sources={
            name: _source(path, name, spec)
            for name, spec in doc.get("sources", {}).items()
        },
        grain=run.get("grain", "day"),
        week_start=run.get("week_start", "monday"),
        measure=run.get("measure", "units"),
        plan=run.get("plan", "defaults"),
        defaults=dict(doc.get("defaults", {})),
    )
    _check_choices(mapping)
    return mapping


def _check_choices(mapping: Mapping) -> None:
    path = mapping.path
    for key, value, allowed in [
        ("import.grain", mapping.grain, GRAINS),
        ("import.week_start", mapping.week_start, WEEKDAYS),
        ("import.measure", mapping.measure, MEASURES),
        ("import.plan", mapping.plan, ("defaults", "skip")),
    ]:
        if value not in allowed:
            raise MappingError(
                f"{path}: {key} = {value!r} is not one of {list(allowed)}"
            )
    if "orders" not in mapping.sources:
        raise MappingError(
            f"{path}: no [sources.orders]: order lines (or sales rows) are the one "
            "export FusionLoop needs; add a [sources.orders] table"
        )


def _source(path: Path, name: str, spec: dict) -> SourceMapping:
    if name not in SOURCES:
        raise MappingError(
            f"{path}: unknown source [sources.{name}]{_close(name, SOURCES)}; "
            f"known: {', '.join(SOURCES)}"
        )
    if "files" not in spec:
        raise MappingError(f'{path}: [sources.{name}] needs files = "<glob>"')
    fmt = spec.get("format", "csv")
    if fmt not in FORMATS:
        raise MappingError(
            f"{path}: [sources.{name}] format = {fmt!r} is not one of {list(FORMATS)}"
        )
    columns = {
        col: _column(path, name, col, value)
        for col, value in spec.get("columns", {}).items()
    }
    return SourceMapping(
        name=name,
        files=spec["files"],
        format=fmt,
        delimiter=spec.get("delimiter", ","),
        encoding=spec.get("encoding", "utf-8"),
        decimal=spec.get("decimal", "."),
        thousands=spec.get("thousands", ""),
        columns=columns,
    )


def _column(path: Path, source: str, column: str, value) -> ColumnSpec:
    where = f"{path}: [sources.{source}.columns] {column}"
    if isinstance(value, str):
        return ColumnSpec(column=value)
    if not isinstance(value, dict):
        raise MappingError(f"{where}: give a column name or a table, not {value!r}")
    unknown = set(value) - SPEC_KEYS
    given = [k for k in ("column", "expr", "value") if k in value]
    if unknown or len(given) != 1:
        raise MappingError(
            f"{where}: a table needs exactly one of column/expr/value (and may "
            f"have format); found keys {sorted(value)}"
        )
    return ColumnSpec(**{k: str(v) for k, v in value.items()})


def check_columns(
    source: SourceMapping, contract: list[str], found: list[str], file: Path
) -> None:
    """Every mapped user column must exist in ``file``; contract names must be real.

    Raises ``MappingError`` naming the source, the contract column, the user
    column that is missing (with close matches) and the columns found.
    """
    known = set(contract) | (set(ORDER_EXTRAS) if source.name == "orders" else set())
    for name, spec in source.columns.items():
        if name not in known:
            raise MappingError(
                f"[sources.{source.name}.columns] {name}: not a column of the "
                f"{source.name} contract{_close(name, sorted(known))}; contract "
                f"columns: {', '.join(sorted(known))}"
            )
        if spec.column is not None and spec.column not in found:
            raise MappingError(
                f"[sources.{source.name}.columns] {name} = {spec.column!r}: no such "
                f"column in {file}{_close(spec.column, found)}; columns found: "
                f"{', '.join(found)}"
            )


def _close(name: str, candidates) -> str:
    """``" (did you mean 'x'?)"`` when ``name`` looks like a misspelling."""
    matches = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
    if not matches:
        lower = {c.lower(): c for c in candidates}
        matches = [lower[name.lower()]] if name.lower() in lower else []
    return (
        f" (did you mean {' or '.join(repr(m) for m in matches)}?)" if matches else ""
    )
