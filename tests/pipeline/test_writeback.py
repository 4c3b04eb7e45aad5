import sqlite3

import pandas as pd

from models.promotions import COLUMNS
from pipeline.writeback import read_adjustments, write_back


def _batch(ids, ds="2026-01-31"):
    return pd.DataFrame(
        [
            {c: None for c in COLUMNS}
            | {
                "adjustment_id": f"{ds}:pause:{i}",
                "ds": ds,
                "action": "pause",
                "promo_id": i,
                "sku": "S",
                "discount_pct": 0.1,
                "reason": "r",
            }
            for i in ids
        ]
    )


def _rows(path):
    with sqlite3.connect(path) as con:
        return con.execute(
            "select adjustment_id from promotion_adjustments order by 1"
        ).fetchall()


def test_same_batch_twice_is_written_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    first = write_back(url, "2026-01-31", _batch(["P1", "P2"]), "v1")
    second = write_back(url, "2026-01-31", _batch(["P1", "P2"]), "v1")
    assert first["applied"] and not second["applied"]
    assert len(_rows(tmp_path / "m.db")) == 2


def test_changed_batch_replaces_the_day_and_leaves_other_days(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    write_back(url, "2026-01-30", _batch(["P9"], ds="2026-01-30"), "v1")
    write_back(url, "2026-01-31", _batch(["P1", "P2"]), "v1")
    write_back(url, "2026-01-31", _batch(["P2", "P3"]), "v2")
    assert read_adjustments(url, "2026-01-31").promo_id.tolist() == ["P2", "P3"]
    assert read_adjustments(url, "2026-01-30").promo_id.tolist() == ["P9"]
    with sqlite3.connect(tmp_path / "m.db") as con:
        ledger = con.execute(
            "select ds, rows, model_version from fusion_writeback_ledger order by ds"
        ).fetchall()
    assert ledger == [("2026-01-30", 1, "v1"), ("2026-01-31", 2, "v2")]


def test_empty_batch_clears_the_day(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    write_back(url, "2026-01-31", _batch(["P1"]), "v1")
    write_back(url, "2026-01-31", _batch([]).reindex(columns=COLUMNS), "v1")
    assert read_adjustments(url, "2026-01-31").empty
