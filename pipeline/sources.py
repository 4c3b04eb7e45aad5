"""The extract contract, read from the suites in ``expectations/``.

Each suite's ``meta`` says the landing file, its format, the columns with
their types (and ``optional_columns`` a drop may leave out), the key, the PII
columns, whether today's decisions need it, and its ``references``: columns
whose values must exist in another source's key (checked with DuckDB).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

SOURCES = (
    "crm_customers",
    "erp_products",
    "erp_locations",
    "erp_inventory",
    "orders",
    "marketing_promotions",
)


class BadFileError(ValueError):
    """A whole extract is unusable; the message names file, rule and the fix."""


@dataclass(frozen=True)
class Source:
    """One source of the extract contract."""

    name: str
    file: str
    format: str  # csv | jsonl
    kind: str  # history (one drop per day, all kept) | snapshot (latest wins)
    required: bool  # needed for today's decisions
    key: tuple[str, ...]
    pii: tuple[str, ...]
    columns: dict[str, str]  # name -> string|int|float|bool|date|timestamp
    suite: dict
    optional_columns: dict[str, str] = field(default_factory=dict)  # may be absent
    references: tuple[dict, ...] = ()  # {column, source, source_column}

    @property
    def all_columns(self) -> list[str]:
        """Contract columns, then the optional ones."""
        return [*self.columns, *self.optional_columns]

    @property
    def raw_columns(self) -> list[str]:
        """Columns as they land in the raw lake (PII replaced by its pseudonym)."""
        return [f"{c}_pseudonym" if c in self.pii else c for c in self.all_columns]

    @property
    def types(self) -> dict[str, str]:
        """Column types as the raw lake holds the columns (PII as pseudonyms)."""
        cols = self.columns | self.optional_columns
        return {(f"{c}_pseudonym" if c in self.pii else c): t for c, t in cols.items()}


@cache
def load_source(name: str, expectations_dir: Path) -> Source:
    """Read the contract and suite of source ``name``."""
    if name not in SOURCES:
        raise ValueError(f"unknown source {name!r}; known: {', '.join(SOURCES)}")
    suite = json.loads((Path(expectations_dir) / f"{name}.json").read_text())
    m = suite["meta"]
    return Source(
        name=name,
        file=m["file"],
        format=m["format"],
        kind=m["kind"],
        required=m["required"],
        key=tuple(m["key"]),
        pii=tuple(m["pii"]),
        columns=dict(m["columns"]),
        suite=suite,
        optional_columns=dict(m.get("optional_columns", {})),
        references=tuple(m.get("references", ())),
    )
