"""Casting raw string columns to the contract's types, row by row."""

from __future__ import annotations

import pandas as pd

_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


def cast_column(values: pd.Series, kind: str) -> pd.Series:
    """Cast strings to ``kind``; values that do not parse become NA."""
    if kind == "string":
        return values.astype("string")
    if kind in ("int", "float"):
        num = pd.to_numeric(values, errors="coerce")
        if kind == "int":
            num = num.where(num.isna() | (num == num.round()))
            return num.astype("Int64")
        return num.astype("Float64")
    if kind == "bool":
        low = values.astype("string").str.strip().str.lower()
        return low.map(
            lambda v: True if v in _TRUE else False if v in _FALSE else None
        ).astype("boolean")
    if kind == "date":
        return pd.to_datetime(values, format="%Y-%m-%d", errors="coerce")
    if kind == "timestamp":
        return pd.to_datetime(values, format="ISO8601", errors="coerce")
    raise ValueError(f"unknown column type {kind!r}")


def cast_frame(
    raw: pd.DataFrame, types: dict[str, str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the typed frame and the rows whose value did not parse.

    The second frame has one row per failure: ``_row_id``, ``rule``
    (``type:<kind>``) and ``column``. A null stays null here (not-null is a
    suite rule), only a present value that does not parse fails.
    """
    typed = raw.copy()
    failures = []
    for col, kind in types.items():
        typed[col] = cast_column(raw[col], kind)
        broken = raw[col].notna() & typed[col].isna()
        failures.append(
            pd.DataFrame(
                {
                    "_row_id": raw.loc[broken, "_row_id"],
                    "rule": f"type:{kind}",
                    "column": col,
                }
            )
        )
    return typed, pd.concat(failures, ignore_index=True)
