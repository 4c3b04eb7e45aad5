"""Stages read a bounded part of the warehouse: what they compute stays the same."""

import pandas as pd

from pipeline import forecasting, kpi, kpi_report
from pipeline.warehouse import query, read_warehouse
from tests.conftest import XS_END


def test_known_rows_are_capped_keep_the_holdout_and_repeat(xs_ingested):
    origin = pd.Timestamp(XS_END) - pd.Timedelta(days=xs_ingested.holdout_days)
    with read_warehouse(xs_ingested) as con:
        known, holdout = con.execute(
            "select count(*), count(*) filter (origin_date = cast($o as date)) "
            "from mart_demand_features where target_units is not null",
            {"o": f"{origin:%Y-%m-%d}"},
        ).fetchone()
    everything = forecasting._known_rows(xs_ingested, origin)
    assert len(everything) == known  # under the cap: every row

    capped = xs_ingested.replace(training_read_rows=known // 4)
    sample = forecasting._known_rows(capped, origin)
    again = forecasting._known_rows(capped, origin)
    pd.testing.assert_frame_equal(sample, again)
    assert (sample.origin_date == origin).sum() == holdout
    others = len(sample) - holdout
    assert 0.15 * known < others < 0.35 * known
    assert sample.target_units.notna().all()


def test_kpis_from_the_report_s_windows_equal_kpis_from_all_history(xs_ingested):
    end = pd.Timestamp(XS_END)
    orders = query(xs_ingested, "stg_orders", "where status = 'completed'")
    # XS holds 60 days: add lines older than the report reads.
    old = orders.head(50).assign(
        order_date=lambda f: f.order_date - pd.Timedelta(99, "D")
    )
    orders = pd.concat([old, orders], ignore_index=True)
    daily = query(xs_ingested, "mart_demand_daily")
    roi = query(xs_ingested, "mart_promotion_roi")
    recent_orders = orders[
        orders.order_date > end - pd.Timedelta(days=kpi_report.ORDER_DAYS)
    ]
    recent_daily = daily[
        daily.sales_date > end - pd.Timedelta(days=kpi_report.HISTORY_DAYS)
    ]
    assert len(recent_orders) < len(orders) and len(recent_daily) < len(daily)
    full = kpi.measure(orders, 300, daily, roi, XS_END)
    bounded = kpi.measure(recent_orders, 300, recent_daily, roi, XS_END)
    assert bounded == full


def test_promotion_response_from_duckdb_sums_equals_the_model_on_all_rows(
    xs_ingested,
):
    """The stage sums segment units in DuckDB; the model's pandas path on the
    whole mart must give the same response (one customer has no segment)."""
    from models.segments import SEGMENTS, promotion_response, response_from_daily
    from pipeline.promoting import segment_daily_units

    units = query(xs_ingested, "mart_segment_promo_units")
    customers = query(xs_ingested, "stg_customers")[["customer_id"]]
    customers = customers[customers.customer_id != units.customer_id.iloc[0]]
    customers["segment"] = [SEGMENTS[i % 5] for i in range(len(customers))]
    promo_days = query(xs_ingested, "mart_promotion_days")
    summed = segment_daily_units(xs_ingested, customers)
    assert len(summed) < len(units) and summed.segment.isna().any()
    pd.testing.assert_frame_equal(
        response_from_daily(summed, promo_days),
        promotion_response(units, promo_days, customers),
        check_exact=True,
    )
