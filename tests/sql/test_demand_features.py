"""The demand feature SQL on hand-built frames: values and no leakage."""

import duckdb
import numpy as np
import pandas as pd
import pytest

from pipeline.demand_features import build_demand_features
from pipeline.settings import Settings

START, ORIGIN = pd.Timestamp("2026-01-01"), "2026-03-01"
SETTINGS = Settings.load(horizon_days=14, train_window_days=21)


def _daily(seed=0, days=80):
    rng = np.random.default_rng(seed)
    dates = pd.date_range(START, periods=days)
    frames = []
    for sku, loc in [("A", "L1"), ("B", "L1"), ("A", "L2")]:
        units = rng.poisson(3, days)
        frames.append(
            pd.DataFrame(
                {
                    "sku": sku,
                    "location_id": loc,
                    "sales_date": dates,
                    "units_sold": units,
                    "stockout": rng.random(days) < 0.1,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


PRODUCTS = [("A", "toys", 10.0, 7), ("B", "toys", 30.0, 3)]
PROMOTIONS = [
    ("P1", "A", "2026-02-20", "2026-02-25", 0.2, "potential", "ended"),
    ("P2", "A", "2026-03-05", "2026-03-08", 0.3, "new", "planned"),
]


def _connect(daily, products=PRODUCTS, promotions=PROMOTIONS):
    con = duckdb.connect()
    con.register("daily_frame", daily)
    con.execute(
        "create table mart_demand_daily as select sku, location_id, "
        "cast(sales_date as date) as sales_date, units_sold, stockout "
        "from daily_frame"
    )
    con.execute(
        "create table stg_products (sku varchar, category varchar, "
        "list_price_eur double, lead_time_days integer)"
    )
    con.executemany("insert into stg_products values (?, ?, ?, ?)", products)
    con.execute(
        "create table stg_locations as select * from (values "
        "('L1', 'north'), ('L2', 'south')) as t(location_id, region)"
    )
    con.execute(
        "create table stg_promotions (promo_id varchar, sku varchar, "
        "start_date date, end_date date, discount_pct double, "
        "target_segment varchar, status varchar)"
    )
    con.executemany(
        "insert into stg_promotions values (?, ?, ?, ?, ?, ?, ?)", promotions
    )
    con.execute(
        "create table calendar_holidays as select date '2026-03-10' as holiday_date"
    )
    return con


def _features(daily, ds=ORIGIN, step=1):
    con = _connect(daily)
    build_demand_features(con, SETTINGS, ds, origin_step_days=step)
    return con.execute("select * from mart_demand_features order by all").df()


@pytest.fixture(scope="module")
def feats():
    return _features(_daily())


def test_changing_sales_after_the_origin_changes_no_feature():
    daily = _daily()
    future = daily.sales_date > pd.Timestamp(ORIGIN)
    shifted = daily.copy()
    shifted.loc[future, "units_sold"] = shifted.units_sold[future] * 10 + 5
    shifted.loc[future, "stockout"] = ~shifted.stockout[future]
    labels = ["target_units", "target_censored"]
    before = _features(daily).drop(columns=labels)
    after = _features(shifted).drop(columns=labels)
    pd.testing.assert_frame_equal(before, after)


def test_rows_cover_the_train_window_and_horizon(feats):
    origins = feats.origin_date.drop_duplicates()
    assert origins.max() == pd.Timestamp(ORIGIN)
    assert len(origins) == 21 + 14
    assert len(feats) == 3 * 35 * 14
    assert feats.target_units[feats.target_date > pd.Timestamp(ORIGIN)].notna().all()


def test_rolling_and_same_weekday_values_by_hand(feats):
    daily = _daily().set_index(["sku", "location_id", "sales_date"])
    units = daily.units_sold
    origin = pd.Timestamp(ORIGIN)
    rows = feats[(feats.sku == "B") & (feats.origin_date == origin)]
    last7 = [units["B", "L1", origin - pd.Timedelta(days=k)] for k in range(7)]
    assert rows.mean_7d_units.iloc[0] == pytest.approx(np.mean(last7))
    for row in rows.itertuples():
        weeks_back = 7 * int(np.ceil(row.horizon_day / 7))
        lag_day = row.target_date - pd.Timedelta(days=weeks_back)
        assert lag_day <= origin
        assert row.same_weekday_last_week_units == units["B", "L1", lag_day]


def test_uncensored_mean_skips_stockout_days(feats):
    daily = _daily().set_index(["sku", "location_id", "sales_date"])
    origin = pd.Timestamp(ORIGIN)
    window = pd.date_range(origin - pd.Timedelta(days=27), origin)
    part = daily.loc[[("A", "L2", d) for d in window]]
    row = feats[(feats.sku == "A") & (feats.location_id == "L2")]
    row = row[row.origin_date == origin].iloc[0]
    expected = part.units_sold[~part.stockout].mean()
    assert row.mean_28d_uncensored_units == pytest.approx(expected)
    assert row.stockout_share_28d == pytest.approx(part.stockout.mean())


def test_promotion_price_and_calendar_features(feats):
    rows = feats[
        (feats.sku == "A")
        & (feats.location_id == "L1")
        & (feats.origin_date == pd.Timestamp(ORIGIN))
    ].set_index("target_date")
    on = rows.loc[pd.Timestamp("2026-03-06")]
    assert on.target_on_promo == 1 and on.target_promo_discount_pct == 0.3
    assert on.target_relative_price == pytest.approx(0.7)
    assert on.target_price_eur == pytest.approx(7.0)
    assert on.target_promo_segment == "new"
    before = rows.loc[pd.Timestamp("2026-03-02")]
    assert before.target_on_promo == 0 and before.days_until_promo == 3
    assert before.days_since_promo == 5  # P1 ended on 2026-02-25
    assert rows.loc[pd.Timestamp("2026-03-10")].target_is_holiday == 1
    assert rows.loc[pd.Timestamp("2026-03-11")].target_is_holiday == 0
    assert on.price_vs_category == pytest.approx(10 / 20)


def test_origin_step_keeps_every_nth_origin():
    feats = _features(_daily(), step=7)
    days_back = (pd.Timestamp(ORIGIN) - feats.origin_date).dt.days
    assert (days_back % 7 == 0).all() and days_back.nunique() == 5


def test_features_do_not_depend_on_input_row_order_or_threads():
    """Float sums and ties are where a feature build can differ between runs."""
    # 0.1 + 0.2 + 0.3 and 0.3 + 0.2 + 0.1 differ in the last bit as doubles
    products = [("A", "toys", 0.1, 7), ("B", "toys", 0.2, 3), ("C", "toys", 0.3, 5)]
    # two promotions with the same discount on the same days, for two segments
    tie = [
        ("P3", "B", "2026-03-03", "2026-03-04", 0.2, "loyal", "planned"),
        ("P4", "B", "2026-03-03", "2026-03-04", 0.2, "new", "planned"),
    ]
    daily = _daily()
    runs = []
    for order, threads in [(1, 1), (-1, 4)]:
        con = _connect(daily, products[::order], (PROMOTIONS + tie)[::order])
        con.execute(f"set threads = {threads}")
        build_demand_features(con, SETTINGS, ORIGIN, origin_step_days=1)
        runs.append(con.execute("select * from mart_demand_features order by all").df())
    pd.testing.assert_frame_equal(runs[0], runs[1], check_exact=True)
    on_tie = runs[0][(runs[0].sku == "B") & (runs[0].target_date == "2026-03-03")]
    assert set(on_tie.target_promo_segment) == {"loyal"}


def test_stats_from_a_later_day_equal_the_full_stats():
    """The incremental build computes stats only from its first changed day,
    reading 91 days before it: values, the last sale long before that window
    and the exact standard deviation must match a full computation."""
    daily = _daily(days=220)
    quiet = (daily.sku == "B") & (daily.sales_date > START + pd.Timedelta(days=5))
    daily.loc[quiet, "units_sold"] = 0  # B's last sale: 214 days before the end
    since = f"{START + pd.Timedelta(days=200):%Y-%m-%d}"
    sql = (SETTINGS.sql_dir / "marts" / "mart_demand_stats.sql").read_text()
    con = _connect(daily)
    frames = [
        con.execute(
            f"select * from ({sql}) where sales_date >= cast($cut as date) "
            "order by all",
            {"since": s, "dirty_skus": [], "cut": since},
        ).df()
        for s in ("1900-01-01", since)
    ]
    pd.testing.assert_frame_equal(frames[0], frames[1], check_exact=True)
    assert (frames[1][frames[1].sku == "B"].days_since_sale > 190).all()
