"""The forecasting peers, run as a user would: Nixtla mlforecast and statsforecast.

They are a benchmark extra (``make bench-install``), not runtime dependencies:
``available()`` says which are installed, and the backtest reports the others
as not installed instead of failing. Both see the sales history up to the
origin as is (censored days included, as a user would feed it).
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd

PEERS = ("mlforecast", "statsforecast")
# Syntetos-Boylan: mean interval between sales above 1.32 days is intermittent.
INTERMITTENT_INTERVAL_DAYS = 1.32
# AutoETS's model set: error, trend, season ("Z" = chosen by AICc). The full
# search ("ZZZ") took 0.25 s a series here (20,000 M series x 4 origins: 5.5
# CPU hours); leaving out the trend ("ZNZ") 0.03 s, and on S it was as accurate
# (bench/forecast_choices.py). 239 days of daily sales show a season, no trend.
ETS_MODEL = "ZNZ"


def available() -> dict[str, bool]:
    """Which peers are importable."""
    return {name: importlib.util.find_spec(name) is not None for name in PEERS}


def long_frame(history: pd.DataFrame) -> pd.DataFrame:
    """Nixtla's long format (``unique_id, ds, y``) from the daily grid."""
    return pd.DataFrame(
        {
            "unique_id": history.sku + "|" + history.location_id,
            "ds": pd.to_datetime(history.sales_date),
            "y": history.units_sold.astype("float64"),
        }
    )


def _to_rows(pred: pd.DataFrame, p50: str, p90: str) -> pd.DataFrame:
    """Peer output -> ``sku, location_id, target_date, p50_units, p90_units``."""
    ids = pred.unique_id.str.split("|", n=1, expand=True)
    point = pred[p50].clip(lower=0).to_numpy()
    return pd.DataFrame(
        {
            "sku": ids[0],
            "location_id": ids[1],
            "target_date": pd.to_datetime(pred.ds),
            "p50_units": point,
            "p90_units": np.maximum(pred[p90].clip(lower=0).to_numpy(), point),
        }
    )


def mlforecast_predict(df: pd.DataFrame, horizon: int, seed: int, threads: int):
    """Global LightGBM with default-style lags, recursive; P90 by a quantile twin."""
    import lightgbm as lgb
    from mlforecast import MLForecast
    from mlforecast.lag_transforms import RollingMean

    common = {"random_state": seed, "n_jobs": threads, "verbosity": -1}
    models = {
        "p50": lgb.LGBMRegressor(**common),
        "p90": lgb.LGBMRegressor(objective="quantile", alpha=0.9, **common),
    }
    fcst = MLForecast(
        models=models,
        freq="D",
        lags=[1, 7, 14, 28],
        lag_transforms={1: [RollingMean(window_size=7), RollingMean(window_size=28)]},
        date_features=["dayofweek", "month"],
        num_threads=threads,
    )
    fcst.fit(df)
    return _to_rows(fcst.predict(horizon), "p50", "p90")


def statsforecast_predict(df: pd.DataFrame, horizon: int, threads: int):
    """AutoETS (model set ``ETS_MODEL``, weekly season, 80% interval -> P90) for
    smooth series and CrostonOptimized (no interval: P90 = its point) for
    intermittent ones."""
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS, CrostonOptimized

    sold_days = df[df.y > 0].groupby("unique_id").size()
    interval = df.groupby("unique_id").size() / sold_days.reindex(
        df.unique_id.unique()
    ).fillna(0).clip(lower=1)
    sparse = set(interval[interval > INTERMITTENT_INTERVAL_DAYS].index)
    parts = []
    smooth_df = df[~df.unique_id.isin(sparse)]
    if len(smooth_df):
        sf = StatsForecast(
            models=[AutoETS(season_length=7, model=ETS_MODEL)], freq="D", n_jobs=threads
        )
        pred = sf.forecast(h=horizon, df=smooth_df, level=[80])
        parts.append(_to_rows(pred, "AutoETS", "AutoETS-hi-80"))
    sparse_df = df[df.unique_id.isin(sparse)]
    if len(sparse_df):
        sf = StatsForecast(models=[CrostonOptimized()], freq="D", n_jobs=threads)
        pred = sf.forecast(h=horizon, df=sparse_df)
        parts.append(_to_rows(pred, "CrostonOptimized", "CrostonOptimized"))
    return pd.concat(parts, ignore_index=True)
