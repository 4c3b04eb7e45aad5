"""The DuckDB models on the ingested XS market."""

import duckdb
import numpy as np
import pandas as pd

from pipeline.warehouse import query, read_warehouse
from tests.conftest import XS_END


def test_orders_keep_one_version_per_line_the_latest_extract(xs_ingested):
    with read_warehouse(xs_ingested) as con:
        dupes = con.execute(
            "select count(*) from (select order_id, line_no from stg_orders "
            "group by all having count(*) > 1)"
        ).fetchone()[0]
        raw = con.execute(
            "select count(*) from read_parquet($g)",
            {"g": str(xs_ingested.lake / "clean/orders/*/*.parquet")},
        ).fetchone()[0]
        staged = con.execute("select count(*) from stg_orders").fetchone()[0]
    assert dupes == 0
    assert staged < raw  # late lines and corrections were folded in


def test_features_use_only_sales_up_to_the_origin(xs_ingested):
    daily = (
        query(xs_ingested, "mart_demand_daily")
        .set_index(["sku", "location_id", "sales_date"])
        .units_sold
    )
    feats = query(xs_ingested, "mart_demand_features")
    sample = feats.sample(40, random_state=1)
    for row in sample.itertuples():
        window = pd.date_range(row.origin_date - pd.Timedelta(days=6), row.origin_date)
        have = daily.reindex([(row.sku, row.location_id, d) for d in window]).dropna()
        assert np.isclose(row.mean_7d_units, have.mean())
        if row.target_date <= pd.Timestamp(XS_END):
            assert (
                row.target_units == daily[(row.sku, row.location_id, row.target_date)]
            )
        else:
            assert pd.isna(row.target_units)


def test_forecast_rows_exist_for_every_series_and_horizon_day(xs_ingested):
    rows = query(
        xs_ingested,
        "mart_demand_features",
        "where origin_date = cast($ds as date)",
        {"ds": XS_END},
    )
    series = query(xs_ingested, "mart_inventory_position")
    assert len(rows) == len(series) * xs_ingested.horizon_days
    assert rows.target_units.isna().all()


def test_customer_activity_covers_every_customer(xs_ingested):
    activity = query(xs_ingested, "mart_customer_activity")
    customers = query(xs_ingested, "stg_customers")
    assert sorted(activity.customer_id) == sorted(customers.customer_id)
    buyers = activity[activity.orders_365d > 0]
    assert (buyers.spend_365d_eur > buyers.margin_365d_eur).all()
    assert activity[activity.orders_365d == 0].recency_days.isna().all()


def test_promotion_days_lie_inside_their_promotions(xs_ingested):
    days = query(xs_ingested, "mart_promotion_days")
    promos = query(xs_ingested, "stg_promotions").set_index("promo_id")
    joined = days.join(promos[["start_date", "end_date"]], on="promo_id")
    assert len(days) > 0
    assert (joined.promo_date >= joined.start_date).all()
    assert (joined.promo_date <= joined.end_date).all()
    assert (joined.promo_date <= pd.Timestamp(XS_END)).all()


def test_readers_do_not_block_each_other(xs_ingested):
    with read_warehouse(xs_ingested) as a, read_warehouse(xs_ingested) as b:
        assert a.execute("select 1").fetchone() == b.execute("select 1").fetchone()
    assert isinstance(a, duckdb.DuckDBPyConnection)
