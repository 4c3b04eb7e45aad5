"""The promotions stage on the XS market: what it decides and on what evidence."""

import re
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from pipeline.promoting import segments_path
from pipeline.warehouse import query
from tests.conftest import XS_END

SQL = Path(__file__).resolve().parents[2] / "sql"


def test_every_customer_gets_one_segment_and_a_clv(xs_day):
    customers = pd.read_parquet(segments_path(xs_day, XS_END))
    summary = pd.read_csv(xs_day.out_dir(XS_END) / "customer_segments.csv")
    assert sorted(customers.customer_id) == sorted(
        query(xs_day, "stg_customers").customer_id
    )
    assert summary.customers.sum() == len(customers)
    assert np.isclose(summary.clv_eur.sum(), customers.clv_eur.sum())
    assert (customers.clv_eur >= 0).all() and customers.clv_eur.max() > 0


def test_adjustments_respect_the_floor_and_explain_themselves(xs_day):
    out = xs_day.out_dir(XS_END)
    adj = pd.read_csv(out / "promotion_adjustments.csv")
    products = query(xs_day, "stg_products").set_index("sku")
    marks = adj[adj.action == "markdown"].join(products, on="sku")
    assert len(marks) > 0, "the XS situation is built to need markdowns"
    assert adj.action.isin(["shrink", "pause"]).any(), "and a shrink or pause"
    price = marks.list_price_eur * (1 - marks.discount_pct)
    assert (price >= marks.unit_cost_eur * (1 + xs_day.margin_floor_pct) - 1e-9).all()
    assert adj.reason.str.len().gt(20).all()
    assert np.isfinite(adj[["expected_units", "margin_effect_eur"]]).all().all()
    response = pd.read_csv(out / "segment_response.csv")
    consenting = response.groupby("segment").consenting_customers.first()
    assert (consenting[marks.target_segment] > 0).all()
    elasticity = pd.read_csv(out / "price_elasticity.csv")
    assert set(elasticity.category) == set(products.category)
    assert elasticity.elasticity.between(0.2, 5.0).all()


def test_stocked_out_days_are_not_unsold_days():
    dates = pd.date_range("2026-01-01", periods=7)
    daily = pd.DataFrame(
        {
            "sku": ["A"] * 7 + ["B"] * 7,
            "sales_date": list(dates) * 2,
            "units_sold": [3, 0, 0, 0, 0, 0, 9] + [0] * 7,
            "stockout": [False, True, True, True, False, False, False]
            + [False, False, True, False, False, False, False],
        }
    )
    con = duckdb.connect()
    con.register("daily_frame", daily)
    con.execute("create table mart_demand_daily as from daily_frame")
    sql = (SQL / "promotions" / "unsold_days.sql").read_text()
    days = con.execute(sql, {"ds": "2026-01-06"}).df().set_index("sku").unsold_days
    # B never sold: its in-stock days; A's sale after the run date is unknown
    assert days.to_dict() == {"A": 2, "B": 5}


def test_evidence_csvs_are_rounded(xs_day):
    out = xs_day.out_dir(XS_END)
    for name, column, decimals in [
        ("customer_segments.csv", "clv_eur", 2),
        ("segment_response.csv", "response_lift", 3),
        ("price_elasticity.csv", "elasticity", 3),
    ]:
        values = pd.read_csv(out / name)[column].dropna()
        assert len(values) and np.allclose(values, values.round(decimals)), name
        text = (out / name).read_text()
        assert not re.search(r"\.\d{5,}", text), f"{name} has long decimals"


def test_paused_promotions_count_only_on_days_their_lines_show():
    con = duckdb.connect()
    con.execute("create table stg_products as select 'X' as sku, 'toys' as category")
    con.execute(
        "create table stg_promotions as select * from (values"
        " ('RUN', 'X', 'toys', 'new', 0.2, date '2026-01-01', date '2026-01-04',"
        "  'active'),"
        " ('PAUSED', 'X', 'toys', 'potential', 0.3, date '2026-01-01',"
        "  date '2026-01-04', 'paused'),"
        " ('OFF', 'X', 'toys', 'low_value', 0.1, date '2026-01-01',"
        "  date '2026-01-04', 'cancelled'))"
        " as t(promo_id, sku, category, target_segment, discount_pct, start_date,"
        " end_date, status)"
    )
    # the paused promotion's lines show it ran on the first two days only
    con.execute(
        "create table stg_orders as select * from (values"
        " (date '2026-01-01', 'PAUSED'), (date '2026-01-02', 'PAUSED'),"
        " (date '2026-01-04', null)) as t(order_date, promo_id)"
    )
    sql = (SQL / "marts" / "mart_promotion_days.sql").read_text()
    days = con.execute(sql, {"ds": "2026-01-04"}).df()
    per_promo = days.groupby("promo_id").promo_date.count().to_dict()
    assert per_promo == {"RUN": 4, "PAUSED": 2}


def test_elasticity_history_uses_the_discount_lines_were_sold_at():
    day = pd.date_range("2026-01-01", periods=3)
    daily = pd.DataFrame(  # two locations, the calendar's planned depth
        {
            "sku": "X",
            "location_id": ["L1"] * 3 + ["L2"] * 3,
            "sales_date": list(day) * 2,
            "units_sold": [5, 4, 0, 1, 2, 0],
            "promo_discount_pct": 0.3,
            "stockout": [False, False, False, False, False, True],
        }
    )
    # the promotion was paused after day 1: day 2 sold at full price
    lines = pd.DataFrame(
        {
            "sku": "X",
            "location_id": ["L1", "L1", "L2", "L2"],
            "order_date": [day[0], day[1], day[0], day[1]],
            "discount_pct": [0.3, 0.0, 0.3, 0.0],
            "status": "completed",
        }
    )
    con = duckdb.connect()
    con.register("daily_frame", daily)
    con.register("lines_frame", lines)
    con.execute("create table mart_demand_daily as from daily_frame")
    con.execute("create table stg_orders as from lines_frame")
    con.execute("create table stg_products as select 'X' as sku, 'toys' as category")
    sql = (SQL / "promotions" / "elasticity_days.sql").read_text()
    got = con.execute(sql).df()
    assert got.units_sold.tolist() == [6, 6, 0]  # summed over locations
    # day 3 sold nothing: the calendar's depth stands (no line says otherwise)
    assert got.promo_discount_pct.tolist() == [0.3, 0.0, 0.3]
    assert got.stockout.tolist() == [False, False, True]
    assert list(got.columns) == [
        "sku",
        "category",
        "sales_date",
        "units_sold",
        "promo_discount_pct",
        "stockout",
    ]
