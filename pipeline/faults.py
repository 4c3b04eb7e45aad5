"""A fault switch for crash-recovery tests: kill this process at named points.

``FUSION_FAULT=<point>[:<where>][,<point>[:<where>]...]`` arms one or more
points; the process kills itself with SIGKILL when it reaches an armed point
(and, if ``<where>`` is given, only where the point's location contains it).
SIGKILL runs no ``finally``, no ``atexit`` and no rollback: what an
out-of-memory kill or a lost worker leaves.

With ``FUSION_FAULT_FIRED_DIR`` set, each armed point fires once: it leaves a
marker file in that folder before the kill, and a process that finds the
marker goes on. So one DAG run can have every stage killed once, each retried
try running clean; without the folder a point fires every time it is reached.
A ``<where>`` naming the run date (``ds=2026-02-01``, ``2026-02-01``) keeps the
other days' runs of the same Airflow clean.

Points:

- ``file_write``: an atomic file write, after half the bytes reached the
  temporary sibling and before the rename (``<where>``: part of the path,
  e.g. ``lake/clean/orders/ds=2026-01-31`` or ``out/2026-01-31/replenishment``).
- ``warehouse_build``: the DuckDB warehouse build, after a table was created
  and before the checkpoint (``<where>``: ``ds=<run date>/<table>``, e.g.
  ``ds=2026-01-31/mart_demand_daily`` or just the table).
- ``write_back``: inside the write-back transaction, after the day's rows
  were upserted and before the ledger row and the commit (``<where>``: the day).
"""

from __future__ import annotations

import hashlib
import os
import signal
from pathlib import Path

from pipeline.settings import fault_fired_dir, fault_switch

POINTS = ("file_write", "warehouse_build", "write_back")


def armed_specs() -> list[tuple[str, str]]:
    """The ``(point, where)`` pairs ``FUSION_FAULT`` arms, checked against POINTS."""
    specs = []
    for spec in filter(None, (s.strip() for s in fault_switch().split(","))):
        point, _, where = spec.partition(":")
        if point not in POINTS:
            raise ValueError(f"FUSION_FAULT={spec!r}: unknown point; known: {POINTS}")
        specs.append((point, where))
    return specs


def armed(point: str, where: str) -> str | None:
    """The first ``FUSION_FAULT`` spec naming ``point`` at ``where``, else None."""
    for name, match in armed_specs():
        if name == point and match in where:
            return f"{name}:{match}"
    return None


def crash_point(point: str, where: str, partial: Path | None = None) -> None:
    """Kill this process here if armed; ``partial`` is first cut to half its size.

    Cutting the temporary file leaves what a writer killed mid-write leaves:
    a file without its end (a Parquet file without its footer).
    """
    spec = armed(point, str(where))
    if spec is None or not _first_firing(spec):
        return
    if partial is not None and partial.exists():
        with open(partial, "r+b") as handle:
            handle.truncate(partial.stat().st_size // 2)
    os.kill(os.getpid(), signal.SIGKILL)


def _first_firing(spec: str) -> bool:
    """Whether ``spec`` may fire now: always without a marker folder, else once.

    The marker is created exclusively, so of two processes reaching the same
    point at once only one dies.
    """
    folder = fault_fired_dir()
    if not folder:
        return True
    Path(folder).mkdir(parents=True, exist_ok=True)
    marker = Path(folder) / hashlib.sha256(spec.encode()).hexdigest()[:16]
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as handle:
        handle.write(spec + "\n")
    return True


def fired(folder: Path) -> list[str]:
    """The specs that fired, as their markers in ``folder`` record them."""
    return sorted(p.read_text().strip() for p in Path(folder).glob("*") if p.is_file())
