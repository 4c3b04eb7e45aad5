"""A fault switch for crash-recovery tests: kill this process at a named point.

``FUSION_FAULT=<point>[:<where>]`` arms one point; the process then kills
itself with SIGKILL when it reaches that point (and, if ``<where>`` is given,
only where the point's location contains it). SIGKILL runs no ``finally``, no
``atexit`` and no rollback: what an out-of-memory kill or a lost worker leaves.

Points:

- ``file_write``: an atomic file write, after half the bytes reached the
  temporary sibling and before the rename (``<where>``: part of the path,
  e.g. ``lake/clean/orders`` or ``replenishment_plan.csv``).
- ``warehouse_build``: the DuckDB warehouse build, after a table was created
  and before the checkpoint (``<where>``: the table, e.g. ``mart_demand_daily``).
- ``write_back``: inside the write-back transaction, after the day's rows
  were upserted and before the ledger row and the commit (``<where>``: the day).
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from pipeline.settings import fault_switch

POINTS = ("file_write", "warehouse_build", "write_back")


def armed(point: str, where: str) -> bool:
    """Whether ``FUSION_FAULT`` names ``point`` at location ``where``."""
    spec = fault_switch()
    if not spec:
        return False
    name, _, match = spec.partition(":")
    if name not in POINTS:
        raise ValueError(f"FUSION_FAULT={spec!r}: unknown point; known: {POINTS}")
    return name == point and match in where


def crash_point(point: str, where: str, partial: Path | None = None) -> None:
    """Kill this process here if armed; ``partial`` is first cut to half its size.

    Cutting the temporary file leaves what a writer killed mid-write leaves:
    a file without its end (a Parquet file without its footer).
    """
    if not armed(point, str(where)):
        return
    if partial is not None and partial.exists():
        with open(partial, "r+b") as handle:
            handle.truncate(partial.stat().st_size // 2)
    os.kill(os.getpid(), signal.SIGKILL)
