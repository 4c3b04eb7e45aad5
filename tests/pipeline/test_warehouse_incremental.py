"""An incremental warehouse build leaves exactly what a full rebuild leaves.

The validated XS lake is replayed day by day into a fresh home, one day of
drops at a time (what daily runs leave in the lake: each partition depends
only on its own drop), and the warehouse is built after each day. The result
after the last day must equal a full build of that day from scratch, table by
table (``pipeline.fingerprint``), and so must a re-run of the same day.
"""

from __future__ import annotations

import shutil

import pandas as pd
import pyarrow.parquet as pq
import pytest

from pipeline import fingerprint, io
from pipeline.warehouse import build_warehouse, keep_per_million, read_warehouse
from pipeline.warehouse_delta import FACT_SOURCES, FULL_SINCE
from tests.conftest import XS_END

DAYS = [f"{d:%Y-%m-%d}" for d in pd.date_range(end=XS_END, periods=4)]


def _replay(source_settings, settings, day: str) -> None:
    """Give ``settings``' lake the clean partitions a daily run of ``day`` adds.

    Fact drops (orders, inventory) are copied as they are, up to ``day``; the
    generated market has one snapshot of each other source, on its last day,
    which stands in for that day's snapshot drop (the closed loop lands one
    every day).
    """
    for source in (source_settings.lake / "clean").iterdir():
        parts = sorted(source.glob("ds=*"))
        if source.name in FACT_SOURCES:
            copies = {p: p.name for p in parts if p.name[3:] <= day}
        else:
            copies = {parts[-1]: f"ds={day}"}
        for part, name in copies.items():
            target = settings.lake / "clean" / source.name / name
            if not target.exists():
                shutil.copytree(part, target)


def _change_a_promotion(settings, day: str) -> str:
    """Deepen one SKU promotion in ``day``'s marketing drop; returns its SKU.

    Marketing edits its calendar every day in the closed loop; the edit must
    reach every day the promotion covers, also days long before the run date.
    """
    path = settings.lake / "clean/marketing_promotions" / f"ds={day}/part-0.parquet"
    promos = pq.read_table(path).to_pandas()
    row = promos[promos.sku.notna()].index[0]
    promos.loc[row, "discount_pct"] = promos.loc[row, "discount_pct"] + 0.05
    io.write_parquet(promos, path)
    return promos.loc[row, "sku"]


def _build(settings, ds: str) -> dict:
    build_warehouse(settings, ds)
    return io.read_json(settings.out_dir(ds) / "warehouse_build.json")


# Every feature row, and a mart that keeps a sample of the origins older than
# the holdout (as on M), which the incremental build must thin day by day.
KEEP = {"every-row": {}, "sampled": {"training_read_rows": 2_000}}


@pytest.fixture(scope="module", params=KEEP.values(), ids=KEEP.keys())
def day_by_day(xs_ingested, tmp_path_factory, request):
    """A home built incrementally over ``DAYS``; returns it and each build's
    summary. The last day's promotion drop carries an edited promotion."""
    home = tmp_path_factory.mktemp("incr")
    settings = xs_ingested.replace(fusion_home=home, **request.param)
    builds = {}
    for day in DAYS:
        _replay(xs_ingested, settings, day)
        if day == DAYS[-1]:
            builds["edited_sku"] = _change_a_promotion(settings, day)
        builds[day] = _build(settings, day)
    return settings, builds


@pytest.fixture(scope="module")
def full_rebuild(day_by_day, tmp_path_factory):
    """The same lake as ``day_by_day``'s last day, built once from scratch."""
    incremental, _ = day_by_day
    settings = incremental.replace(fusion_home=tmp_path_factory.mktemp("full"))
    shutil.copytree(incremental.lake, settings.lake)
    assert _build(settings, DAYS[-1])["mode"] == "full"
    return settings


def test_later_days_are_built_incrementally(day_by_day):
    _, builds = day_by_day
    assert builds[DAYS[0]]["mode"] == "full"
    for earlier, day in zip(DAYS, DAYS[1:], strict=False):
        assert builds[day]["mode"] == "incremental", builds[day]
        assert builds[day]["loaded_through"] == earlier
        # late lines and corrections reach back a few days, no further
        assert FULL_SINCE < builds[day]["marts_since"] <= day
    assert builds[DAYS[-1]]["dirty_skus"] >= 1


def test_incremental_build_equals_a_full_rebuild(day_by_day, full_rebuild):
    incremental, _ = day_by_day
    first = fingerprint.warehouse(incremental)
    second = fingerprint.warehouse(full_rebuild)
    assert "warehouse/mart_demand_features" in first
    assert fingerprint.differences(first, second) == []


def test_the_mart_keeps_the_recent_origins_whole_and_a_sample_of_older(day_by_day):
    settings, _ = day_by_day
    with read_warehouse(settings) as con:
        keep = keep_per_million(con, settings)
        per_origin = con.execute(
            "select origin_date, count(*) as n from mart_demand_features group by 1"
        ).df()
    full_zone = per_origin.origin_date >= pd.Timestamp(DAYS[-1]) - pd.Timedelta(
        days=settings.holdout_days
    )
    whole = 12 * 2 * settings.horizon_days  # XS: SKUs x stores x horizon days
    assert (per_origin.n[full_zone] == whole).all()
    older = per_origin.n[~full_zone].sum() / (whole * (~full_zone).sum())
    if settings.training_read_rows >= 1_000_000:
        assert keep == 1_000_000 and older == 1.0
    else:  # 2,000 of 10,080 older rows: about a fifth, by a hash of the key
        assert keep == 198_413
        assert 0.15 < older < 0.25


def test_rerunning_the_day_leaves_the_same_warehouse(day_by_day, full_rebuild):
    incremental, _ = day_by_day
    assert _build(incremental, DAYS[-1])["mode"] == "incremental"
    assert (
        fingerprint.differences(
            fingerprint.warehouse(incremental), fingerprint.warehouse(full_rebuild)
        )
        == []
    )


def test_a_changed_old_drop_makes_the_build_full(day_by_day, tmp_path_factory):
    incremental, _ = day_by_day
    settings = incremental.replace(fusion_home=tmp_path_factory.mktemp("changed"))
    shutil.copytree(incremental.fusion_home, settings.fusion_home, dirs_exist_ok=True)
    old = settings.lake / "clean/orders" / f"ds={DAYS[0]}/part-0.parquet"
    io.write_parquet(pq.read_table(old).to_pandas().iloc[1:], old)
    build = _build(settings, DAYS[-1])
    assert build["mode"] == "full"
    assert "changed since they were loaded" in build["reason"]
