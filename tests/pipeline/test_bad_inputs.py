"""The bad-input corpus: every case in ``tests/data/bad_inputs/`` through the gate.

Each case is a folder with ``case.json``: the source, a declarative mutation of
the tiny demo market's drop of the run day, and the expected outcome written
beside it: ``accepted``, ``quarantined`` (which rows, for which rule and
column), ``stopped`` (a required source fails with the given text) or
``fallback`` (an optional source keeps its last good drop). One test runs them
all and checks the outcome and that input rows = accepted + quarantined.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipeline.extract import extract_source
from pipeline.sources import SOURCES, BadFileError, load_source
from pipeline.validate import validate_source
from pipeline.warehouse_delta import FULL_SINCE
from tests.conftest import XS_END

CORPUS = Path(__file__).resolve().parent.parent / "data" / "bad_inputs"
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "case.json").exists())
DAY, PREVIOUS = XS_END, "2026-01-30"
SNAPSHOTS = ("crm_customers", "erp_products", "erp_locations", "marketing_promotions")


@pytest.fixture(scope="module")
def gate_base(xs_settings, tmp_path_factory):
    """A home with the demo's last two drops validated; snapshots on both days."""
    home = tmp_path_factory.mktemp("gate_base")
    settings = xs_settings.replace(fusion_home=home)
    for day in (PREVIOUS, DAY):
        shutil.copytree(xs_settings.landing / day, settings.landing / day)
    for source in SNAPSHOTS:
        name = load_source(source, settings.expectations_dir).file
        shutil.copy(settings.landing / DAY / name, settings.landing / PREVIOUS / name)
    for day in (PREVIOUS, DAY):
        for source in SOURCES:
            out = extract_source(settings, source, day)
            validate_source(settings, source, day, out["days"], out["bad_drops"])
    return settings


def test_the_corpus_has_at_least_40_cases():
    assert len(CASES) >= 40


@pytest.mark.parametrize("name", CASES)
def test_bad_input_case(name, gate_base, tmp_path):
    case = json.loads((CORPUS / name / "case.json").read_text())
    settings = gate_base.replace(fusion_home=tmp_path / "home")
    shutil.copytree(gate_base.fusion_home, settings.fusion_home)
    src = load_source(case["source"], settings.expectations_dir)
    drop = settings.landing / DAY / src.file
    mutate(drop, settings.landing / PREVIOUS / src.file, src.format, case["mutate"])
    expect = case["expect"]
    if expect["outcome"] == "stopped":
        with pytest.raises(BadFileError) as err:
            _gate(settings, src.name)
        for text in expect["error"]:
            assert text in str(err.value)
        for text in expect.get("error_excludes", []):
            assert text not in str(err.value)
        assert not (settings.lake / "clean" / src.name / f"ds={DAY}").exists()
        return
    out, counts = _gate(settings, src.name)
    if expect.get("rerun"):
        assert _gate(settings, src.name)[1] == counts
    assert out["extra_columns"] == expect.get("extra_columns", [])
    if expect["outcome"] == "fallback":
        assert counts["snapshot_day"] == PREVIOUS and not counts["fresh"]
        for text in expect["error"]:
            assert text in counts["fallback"]
        for text in expect.get("error_excludes", []):
            assert text not in str(out) + str(counts)
        return
    assert counts["fresh"] and counts["fallback"] is None
    assert counts["input_rows"] == _records(drop, src.format)
    assert counts["input_rows"] == counts["accepted_rows"] + counts["quarantined_rows"]
    _check_quarantine(settings, src.name, expect.get("quarantined", []))
    for staged in expect.get("staged", []):
        _check_staged(settings, staged)


def _gate(settings, source: str) -> tuple[dict, dict]:
    out = extract_source(settings, source, DAY)
    return out, validate_source(settings, source, DAY, out["days"], out["bad_drops"])


def _check_quarantine(settings, source: str, expected: list[dict]) -> None:
    """Exactly the rows the case names are quarantined, for its rules and columns."""
    part = settings.lake / "quarantine" / source / f"ds={DAY}" / "part-0.parquet"
    quarantine = pd.read_parquet(part)
    named = pd.Series(False, index=quarantine.index)
    for e in expected:
        rows = pd.Series(True, index=quarantine.index)
        for col, value in e["where"].items():
            rows &= quarantine[col].astype(str) == str(value)
        assert rows.any(), f"no quarantined row where {e['where']}"
        for rule, column in quarantine.loc[rows, ["rule", "column"]].itertuples(
            index=False
        ):
            assert e["rule"] in rule.split("; "), (e, rule)
            assert e["column"] in column.split("; "), (e, column)
        for row in quarantine[rows].to_dict("records"):
            first = row[quarantine.columns[0]]
            _check_line(Path(row["_source_file"]), row["_source_line"], first)
        named |= rows
    assert named.all(), quarantine[~named][["rule", "column", "_source_line"]]


def _check_line(path: Path, line: int, first_value) -> None:
    """The quarantine's ``_source_line`` is the physical line the record starts on."""
    text = path.read_text(encoding="utf-8-sig").splitlines()[line - 1]
    if first_value is not None:
        assert str(first_value) in text, (path, line, text)


def _check_staged(settings, staged: dict) -> None:
    """The order lines as the warehouse stages them (latest extract wins)."""
    sql = (settings.sql_dir / "staging" / "stg_orders.sql").read_text()
    params = {
        "ds": DAY,
        "lake_clean": str(settings.lake / "clean"),
        "loaded_through": FULL_SINCE,  # every drop, as a full build reads
    }
    lines = duckdb.execute(sql, params).df()
    rows = pd.Series(True, index=lines.index)
    for col, value in staged["where"].items():
        rows &= lines[col] == value
    assert rows.sum() == staged["count"]
    for col, value in staged["values"].items():
        assert _plain(lines.loc[rows, col].iat[0]) == str(value), col


def _plain(value) -> str:
    """A staged value as the case writes it (dates as YYYY-MM-DD)."""
    if isinstance(value, pd.Timestamp) and value == value.normalize():
        return f"{value:%Y-%m-%d}"
    return str(value)


def _records(path: Path, fmt: str) -> int:
    text = path.read_text(encoding="utf-8-sig")
    if fmt == "csv":
        return len(list(csv.reader(io.StringIO(text)))) - 1
    return sum(1 for line in text.splitlines() if line.strip())


def mutate(drop: Path, previous: Path, fmt: str, ops: list[dict]) -> None:
    """Apply the case's mutations to ``drop`` (rows first, then bytes)."""
    header, rows = _read_rows(drop, fmt)
    encoding, data = "utf-8", None
    for op in ops:
        kind = op["op"]
        if kind == "append":
            pool = _read_rows(previous, fmt)[1] if op.get("base") else rows
            base = pool[op.get("base_row", 0)]
            rows += [base | over for over in op["rows"]]
        elif kind == "set":
            for i in op["rows"]:
                rows[i] = rows[i] | op["values"]
        elif kind == "keep_rows":
            rows = rows[: op["n"]]
        elif kind == "add_column":
            header.append(op["column"])
            rows = [{op["column"]: op["value"]} | r for r in rows]
        elif kind == "drop_column":
            header.remove(op["column"])
        elif kind == "rename_column":
            header[header.index(op["from"])] = op["to"]
            rows = [r | {op["to"]: r.get(op["from"])} for r in rows]
        elif kind == "encode":
            encoding = op["encoding"]
        elif kind == "delete_file":
            drop.unlink()
            return
        elif kind not in ("prepend_bytes", "truncate", "empty", "drop_header"):
            raise ValueError(f"unknown mutation {kind!r}")
    data = _write_rows(header, rows, fmt).encode(encoding)
    for op in ops:
        if op["op"] == "prepend_bytes":
            data = bytes.fromhex(op["hex"]) + data
        elif op["op"] == "truncate":
            data = data[: -op["drop_bytes"]]
        elif op["op"] == "empty":
            data = b""
        elif op["op"] == "drop_header":
            data = data.split(b"\n", 1)[1]
    drop.write_bytes(data)


def _read_rows(path: Path, fmt: str) -> tuple[list[str], list[dict]]:
    if fmt == "csv":
        reader = csv.DictReader(io.StringIO(path.read_text()))
        return list(reader.fieldnames), list(reader)
    rows = [json.loads(line) for line in path.read_text().splitlines() if line]
    return list(rows[0]), rows


def _write_rows(header: list[str], rows: list[dict], fmt: str) -> str:
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, header, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue()
    return "".join(json.dumps({k: r.get(k) for k in header}) + "\n" for r in rows)
