"""Global LightGBM demand model: one booster per quantile, direct multi-step.

Rows are (SKU, location, origin date, horizon day) with features known at the
origin; see ``sql/marts/mart_demand_features.sql``. One model serves every
horizon day (``horizon_day`` is a feature): direct, so an error on day 1 is not
fed back into day 2. Training is deterministic (fixed seed, thread count,
row-wise histograms), and rows whose sales a stock-out censored are left out
by the caller: their true demand is unknown.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

NUMERIC_FEATURES = [
    "horizon_day",
    "last_day_units",
    "last_day_stockout",
    "mean_7d_units",
    "mean_28d_units",
    "mean_91d_units",
    "std_28d_units",
    "mean_28d_uncensored_units",
    "zero_share_28d",
    "stockout_share_28d",
    "mean_interval_days",
    "days_since_sale",
    "same_weekday_last_week_units",
    "same_weekday_mean_4w_units",
    "target_dow",
    "target_month",
    "target_day_of_month",
    "target_is_holiday",
    "target_promo_discount_pct",
    "target_on_promo",
    "target_relative_price",
    "target_price_eur",
    "days_since_promo",
    "days_until_promo",
    "list_price_eur",
    "price_vs_category",
    "lead_time_days",
]
CATEGORICAL_FEATURES = ["category", "region", "location_id", "target_promo_segment"]
QUANTILES = {"p50": 0.5, "p90": 0.9}
MEAN = "mean"  # the booster of expected units, beside the quantiles
# The scale each row's target is divided by (units per day; floor avoids /0).
SCALE_COLUMN, SCALE_FLOOR = "mean_28d_uncensored_units", 0.1


# Config fields a model saved before they existed trained without.
BEFORE_NEW_FIELDS = {"mean_objective": "", "training_rows_per_series": 0}


@dataclass(frozen=True)
class DemandModelConfig:
    """LightGBM settings; the defaults are the ones the backtest chose on S.

    ``point_objective`` is the P50 model's loss: ``quantile`` (alpha 0.5),
    ``tweedie``, ``poisson`` or ``l2``; P90 is a quantile model at level
    ``p90_alpha`` (above 0.9 when the backtest shows boosted quantiles
    under-cover, as they shrink towards the median).
    ``scale_target`` trains on units / recent mean (weighted by that mean, so
    the loss is still in units): one scale-free model across slow and fast
    series. Training uses a seeded sample of at most ``training_rows_cap``
    rows: ``max_training_rows``, or ``training_rows_per_series`` per SKU x
    location where that is more (a market of 20,000 series needs more rows
    than one of 150).
    ``mean_objective`` (``poisson``, ``tweedie`` or ``l2``; empty: none) fits a
    third booster for the expected units, which the plan then protects from:
    a horizon's demand is the sum of the days' means, and for intermittent,
    right-skewed demand the median runs well under the mean. Off by default:
    on the capacity-bound S market it cost more (``BENCHMARKS.md``).
    """

    point_objective: str = "quantile"
    mean_objective: str = ""
    p90_alpha: float = 0.91
    scale_target: bool = False
    num_leaves: int = 31
    num_boost_round: int = 100
    learning_rate: float = 0.1
    min_data_in_leaf: int = 100
    max_training_rows: int = 20_000
    training_rows_per_series: int = 15
    seed: int = 7
    num_threads: int = 1  # 2 threads spin against each other on a busy 2-core box


@dataclass
class DemandModel:
    """Fitted boosters per quantile plus the category levels they were fit on."""

    boosters: dict
    categories: dict[str, list[str]]
    config: DemandModelConfig

    def save(self, folder: Path) -> None:
        """Write one LightGBM text model per quantile into ``folder``."""
        for name, booster in self.boosters.items():
            booster.save_model(str(folder / f"model_{name}.txt"))

    @classmethod
    def load(cls, folder: Path, categories: dict, config: dict) -> DemandModel:
        """Read a model saved by ``save``."""
        import lightgbm as lgb

        config = DemandModelConfig(**(BEFORE_NEW_FIELDS | config))
        names = [*QUANTILES, MEAN] if config.mean_objective else list(QUANTILES)
        boosters = {
            q: lgb.Booster(model_file=str(folder / f"model_{q}.txt")) for q in names
        }
        return cls(boosters, dict(categories), config)

    def config_dict(self) -> dict:
        return asdict(self.config)


def _matrix(frame: pd.DataFrame, categories: dict) -> pd.DataFrame:
    x = frame[NUMERIC_FEATURES].astype("float64").copy()
    for col in CATEGORICAL_FEATURES:
        x[col] = pd.Categorical(frame[col], categories=categories[col]).codes
    return x


def _scale(frame: pd.DataFrame, config: DemandModelConfig) -> np.ndarray:
    if not config.scale_target:
        return np.ones(len(frame))
    return np.maximum(frame[SCALE_COLUMN].fillna(0).to_numpy(float), SCALE_FLOOR)


def _params(config: DemandModelConfig, name: str) -> dict:
    objective = {"p50": config.point_objective, MEAN: config.mean_objective}.get(
        name, "quantile"
    )
    params = {
        "objective": objective,
        "num_leaves": config.num_leaves,
        "learning_rate": config.learning_rate,
        "min_data_in_leaf": config.min_data_in_leaf,
        "seed": config.seed,
        "num_threads": config.num_threads,
        "deterministic": True,
        "force_row_wise": True,
        "verbosity": -1,
    }
    if objective == "quantile":
        params["alpha"] = config.p90_alpha if name == "p90" else QUANTILES[name]
    return params


def bounded_sample(train: pd.DataFrame, max_rows: int, seed: int) -> pd.DataFrame:
    """``train`` itself, or a seeded sample of ``max_rows`` rows in original order."""
    if len(train) <= max_rows:
        return train
    keep = np.random.default_rng(seed).choice(len(train), max_rows, replace=False)
    return train.iloc[np.sort(keep)]


def training_rows_cap(train: pd.DataFrame, config: DemandModelConfig) -> int:
    """Rows the model trains on at most: ``max_training_rows``, or
    ``training_rows_per_series`` per SKU x location in ``train`` if more.

    A flat 20,000 suits S (150 series, 133 rows each); on M (20,000 series)
    it left one row a series, and leaves of 100 rows then could not single out
    the few fast sellers: the fastest, at 47 units a day, was forecast at 16
    (300,000 rows: 32, and WAPE 0.664 against 0.673; BENCHMARKS.md).
    """
    if config.training_rows_per_series <= 0:
        return config.max_training_rows
    series = train.groupby(["sku", "location_id"], observed=True).ngroups
    return max(config.max_training_rows, config.training_rows_per_series * series)


def fit(train: pd.DataFrame, config: DemandModelConfig = DemandModelConfig()):
    """Fit P50, P90 (and mean) boosters on rows with a known ``target_units``."""
    import lightgbm as lgb

    train = bounded_sample(train, training_rows_cap(train, config), config.seed)
    categories = {
        col: sorted(train[col].dropna().astype(str).unique())
        for col in CATEGORICAL_FEATURES
    }
    x = _matrix(train, categories)
    scale = _scale(train, config)
    y = train["target_units"].to_numpy(float) / scale
    data = lgb.Dataset(
        x,
        y,
        weight=scale,
        categorical_feature=CATEGORICAL_FEATURES,
        free_raw_data=False,
    )
    names = [*QUANTILES, MEAN] if config.mean_objective else list(QUANTILES)
    boosters = {
        name: lgb.train(_params(config, name), data, config.num_boost_round)
        for name in names
    }
    return DemandModel(boosters, categories, config)


def predict(model: DemandModel, frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``p50_units`` and ``p90_units`` (>= 0, P90 >= P50) for each row,
    and ``mean_units`` (>= 0) when the model has a mean booster."""
    x = _matrix(frame, model.categories)
    scale = _scale(frame, model.config)
    p50 = np.clip(model.boosters["p50"].predict(x) * scale, 0, None)
    p90 = np.clip(model.boosters["p90"].predict(x) * scale, 0, None)
    out = {"p50_units": p50, "p90_units": np.maximum(p90, p50)}
    if MEAN in model.boosters:
        out["mean_units"] = np.clip(model.boosters[MEAN].predict(x) * scale, 0, None)
    return pd.DataFrame(out, index=frame.index)


def seasonal_naive(frame: pd.DataFrame) -> pd.Series:
    """Same weekday of the last observed week: the baseline to beat."""
    return frame["same_weekday_last_week_units"].fillna(0.0)


def accuracy(actual, p50, p90=None, mase_scale=None) -> dict:
    """WAPE and bias of the point forecast, P90 pinball loss and coverage.

    WAPE = sum|a - f| / sum a; bias = sum(f - a) / sum a; pinball is the mean
    P90 quantile loss in units. With ``mase_scale`` (each row's in-sample mean
    absolute error of the 7-day seasonal naive), MASE = mean(|a - f| / scale)
    over the rows whose scale is positive.
    """
    actual, p50 = np.asarray(actual, float), np.asarray(p50, float)
    total = max(actual.sum(), 1e-9)
    out = {
        "wape": float(np.abs(actual - p50).sum() / total),
        "bias": float((p50 - actual).sum() / total),
        "rows": int(len(actual)),
    }
    if mase_scale is not None:
        scale = np.asarray(mase_scale, float)
        ok = scale > 0
        out["mase"] = float((np.abs(actual - p50)[ok] / scale[ok]).mean())
    if p90 is not None:
        p90 = np.asarray(p90, float)
        diff = actual - p90
        out["pinball_p90"] = float(np.maximum(0.9 * diff, -0.1 * diff).mean())
        out["coverage_p90"] = float((actual <= p90).mean())
    return out


def moving_average(frame: pd.DataFrame) -> pd.Series:
    """Mean daily units of the 28 days up to the origin, for every horizon day."""
    return frame["mean_28d_units"].fillna(0.0)


def oracle_quantiles(expected_units, gamma_shape: float) -> pd.DataFrame:
    """P50/P90 of the true demand distribution: negative binomial, given mean.

    A Poisson whose rate is the expected units times a Gamma(shape, 1/shape)
    draw is negative binomial with ``n = shape`` and ``p = shape / (shape + mu)``.
    Its median is the best WAPE any forecast can expect, its 0.9 quantile the
    best P90.
    """
    from scipy.stats import nbinom

    mu = np.asarray(expected_units, float)
    p = gamma_shape / (gamma_shape + mu)
    return pd.DataFrame(
        {
            "p50_units": nbinom.ppf(0.5, gamma_shape, p),
            "p90_units": nbinom.ppf(0.9, gamma_shape, p),
        }
    )
