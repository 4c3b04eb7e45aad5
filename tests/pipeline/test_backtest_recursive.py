"""Recursive multi-step: each day's features see the forecasts of the days before."""

import numpy as np
import pandas as pd

from models import demand
from pipeline import backtest_recursive as recursive
from pipeline.demand_features import build_demand_features
from tests.sql.test_demand_features import ORIGIN, SETTINGS, _connect, _daily

CONFIG = demand.DemandModelConfig(num_boost_round=20, min_data_in_leaf=5)


def _one_step_model(con):
    build_demand_features(con, SETTINGS.replace(horizon_days=1), ORIGIN, 1)
    train = con.execute(
        "select * from mart_demand_features where target_units is not null "
        "and target_date <= cast($o as date) order by all",
        {"o": ORIGIN},
    ).df()
    return demand.fit(train, CONFIG)


def test_day_two_is_forecast_from_the_day_one_forecast_not_the_sales():
    daily = _daily()
    con = _connect(daily)
    model = _one_step_model(con)
    out = recursive.forecast(con, SETTINGS, model, ORIGIN, horizon=2)
    assert len(out) == 2 * 3 and out.target_date.nunique() == 2

    # by hand: the history up to the origin plus the day-1 forecast as sales
    day1 = out[out.target_date == out.target_date.min()]
    known = daily[daily.sales_date <= pd.Timestamp(ORIGIN)]
    fed = day1.rename(columns={"target_date": "sales_date", "p50_units": "units_sold"})
    history = pd.concat([known, fed.assign(stockout=False)[known.columns]])
    by_hand = _connect(history.astype({"units_sold": float}))
    day = f"{pd.Timestamp(ORIGIN) + pd.Timedelta(days=1):%Y-%m-%d}"
    one_day = SETTINGS.replace(horizon_days=1, train_window_days=0)
    build_demand_features(by_hand, one_day, day, origin_step_days=1)
    rows = by_hand.execute(
        "select * from mart_demand_features order by sku, location_id"
    ).df()
    expected = demand.predict(model, rows).p50_units.to_numpy()
    day2 = out[out.target_date == out.target_date.max()]
    np.testing.assert_allclose(day2.p50_units.to_numpy(), expected)
    assert (rows.last_day_units.to_numpy() == day1.p50_units.to_numpy()).all()
