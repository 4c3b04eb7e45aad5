"""Atomic writes: every file lands whole or not at all (temp sibling, then rename)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.faults import crash_point


def _atomic(path: Path, write: Callable[[Path], None]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        crash_point("file_write", path, partial=Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _remove_leftovers(path: Path) -> None:
    """Delete temporary siblings of ``path`` left by a writer that was killed.

    Every task is the only writer of its paths for its run date, so a temp
    sibling that exists before we write is a dead writer's, never a live one's.
    """
    for leftover in path.parent.glob(f".{path.name}.*"):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)


def write_parquet(frame: pd.DataFrame | pa.Table, path: Path) -> Path:
    """Write a frame or Arrow table to ``path`` as Parquet, atomically."""
    table = (
        frame
        if isinstance(frame, pa.Table)
        else pa.Table.from_pandas(frame, preserve_index=False)
    )
    return _atomic(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Write a frame to ``path`` as CSV (no index; ISO dates), atomically."""
    return _atomic(path, lambda tmp: frame.to_csv(tmp, index=False))


def write_json(obj, path: Path) -> Path:
    """Write ``obj`` as pretty, key-sorted JSON, atomically."""
    text = json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n"
    return _atomic(path, lambda tmp: tmp.write_text(text))


def write_text(text: str, path: Path) -> Path:
    """Write ``text`` to ``path``, atomically."""
    return _atomic(path, lambda tmp: tmp.write_text(text))


def replace_dir(build: Callable[[Path], None], target: Path) -> Path:
    """Build a directory in a temp sibling with ``build(tmp)``, then swap it in."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        build(tmp)
        old = target.with_name(f".{target.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        if target.exists():
            os.replace(target, old)
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def read_json(path: Path):
    """Read a JSON file."""
    return json.loads(Path(path).read_text())
