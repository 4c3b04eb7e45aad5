"""Validation in bounded chunks of drops gives what one pass over them all gives."""

import csv
import logging

import pandas as pd
import pytest

from pipeline import io, market
from pipeline.extract import extract_source
from pipeline.settings import Settings
from pipeline.sources import BadFileError
from pipeline.validate import day_chunks, validate_source

END = "2026-01-10"


def _ingest_orders(home, chunk_rows: int) -> Settings:
    settings = Settings.load(
        fusion_home=home, pii_key="k", validation_chunk_rows=chunk_rows
    )
    market.generate(settings, size="XS", days=10, seed=3, end=END)
    for day in ("2026-01-02", "2026-01-06", "2026-01-09"):
        _add_a_bad_line(settings.landing / day / "orders.csv")
    out = extract_source(settings, "orders", END)
    validate_source(settings, "orders", END, out["days"], out["bad_drops"])
    return settings


def _add_a_bad_line(path) -> None:
    """Append a copy of the drop's first line on an unknown channel: quarantined."""
    with path.open(newline="") as f:
        first = next(csv.DictReader(f))
    bad = first | {"order_id": first["order_id"] + "-bad", "channel": "fax"}
    with path.open("a", newline="") as f:
        csv.DictWriter(f, list(first), lineterminator="\n").writerow(bad)


def _lake_day(settings: Settings, area: str, day: str) -> pd.DataFrame:
    path = settings.lake / area / "orders" / f"ds={day}" / "part-0.parquet"
    return pd.read_parquet(path).drop(columns=["_source_file"], errors="ignore")


def test_chunked_validation_writes_the_same_lake_as_one_pass(tmp_path):
    whole = _ingest_orders(tmp_path / "whole", chunk_rows=10_000_000)
    chunked = _ingest_orders(tmp_path / "chunked", chunk_rows=40)
    days = sorted(p.stem[3:] for p in (whole.lake / "manifest/orders").glob("*.json"))
    assert len(days) == 10
    assert len(day_chunks(chunked, "orders", days)) > 3
    assert len(day_chunks(whole, "orders", days)) == 1
    quarantined = 0
    for day in days:
        for area in ("clean", "quarantine"):
            pd.testing.assert_frame_equal(
                _lake_day(whole, area, day), _lake_day(chunked, area, day)
            )
        counts = io.read_json(chunked.lake / "manifest/orders" / f"ds={day}.json")
        expected = io.read_json(whole.lake / "manifest/orders" / f"ds={day}.json")
        assert {k: v for k, v in counts.items() if k != "file"} == {
            k: v for k, v in expected.items() if k != "file"
        }
        assert counts["input_rows"] == (
            counts["accepted_rows"] + counts["quarantined_rows"]
        )
        quarantined += counts["quarantined_rows"]
    assert quarantined >= 3  # the bad lines went through the chunks too


def test_a_short_drop_is_caught_across_a_chunk_boundary(tmp_path):
    settings = Settings.load(
        fusion_home=tmp_path, pii_key="k", validation_chunk_rows=10
    )
    header = (
        "order_id,line_no,order_ts,customer_id,sku,location_id,channel,qty,"
        "unit_price,discount_pct,promo_id,status"
    )
    for day, n in (("2026-01-05", 10), ("2026-01-06", 2)):
        folder = settings.landing / day
        folder.mkdir(parents=True)
        lines = [
            f"O{day[-1]}{i},1,{day} 10:00:00,C1,SKU1,L1,web,1,9.5,0.0,,completed"
            for i in range(n)
        ]
        (folder / "orders.csv").write_text("\n".join([header, *lines]) + "\n")
    out = extract_source(settings, "orders", "2026-01-06")
    assert day_chunks(settings, "orders", out["days"]) == [
        ["2026-01-05"],
        ["2026-01-06"],
    ]
    with pytest.raises(BadFileError, match="2 rows, against 10 in the drop of"):
        validate_source(settings, "orders", "2026-01-06", out["days"])


def test_validation_logs_no_line_per_gx_context(tmp_path, caplog):
    """GX logs a line at INFO for every ephemeral context, one per chunk; an L
    initial load ran thousands of them into the log and hid what mattered."""
    caplog.set_level(logging.INFO)
    _ingest_orders(tmp_path, chunk_rows=40)
    assert not [r for r in caplog.records if "ephemeral" in r.getMessage()]
    # the pipeline's own lines still come through at INFO
    assert [r for r in caplog.records if r.name.startswith("pipeline.")]
