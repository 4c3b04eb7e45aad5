"""Global LightGBM demand model: one model per quantile, direct multi-step.

Rows are (SKU, location, origin date, horizon day) with features known at the
origin; see ``sql/marts/mart_demand_features.sql``. Training is deterministic
(fixed seed, thread count, row-wise histograms).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

NUMERIC_FEATURES = [
    "horizon_day",
    "last_day_units",
    "mean_7d_units",
    "mean_28d_units",
    "std_28d_units",
    "zero_share_28d",
    "stockout_share_28d",
    "same_weekday_last_week_units",
    "target_dow",
    "target_month",
    "target_promo_discount_pct",
    "list_price_eur",
]
QUANTILES = {"p50": 0.5, "p90": 0.9}


@dataclass(frozen=True)
class DemandModelConfig:
    """LightGBM settings (defaults tuned for the S market on 2 cores)."""

    num_leaves: int = 31
    num_boost_round: int = 200
    learning_rate: float = 0.05
    min_data_in_leaf: int = 50
    seed: int = 7
    num_threads: int = 2


@dataclass
class DemandModel:
    """Fitted boosters per quantile plus the category codes they were trained on."""

    boosters: dict
    categories: list[str]
    config: DemandModelConfig

    def save(self, folder: Path) -> None:
        """Write one LightGBM text model per quantile into ``folder``."""
        for name, booster in self.boosters.items():
            booster.save_model(str(folder / f"model_{name}.txt"))

    @classmethod
    def load(cls, folder: Path, categories, config: dict) -> DemandModel:
        """Read a model saved by ``save``."""
        import lightgbm as lgb

        boosters = {
            q: lgb.Booster(model_file=str(folder / f"model_{q}.txt")) for q in QUANTILES
        }
        return cls(boosters, list(categories), DemandModelConfig(**config))

    def config_dict(self) -> dict:
        return asdict(self.config)


def _matrix(frame: pd.DataFrame, categories: list[str]) -> pd.DataFrame:
    x = frame[NUMERIC_FEATURES].astype("float64").copy()
    x["category"] = pd.Categorical(frame["category"], categories=categories).codes
    return x


def fit(train: pd.DataFrame, config: DemandModelConfig = DemandModelConfig()):
    """Fit P50 and P90 quantile boosters on rows with a known ``target_units``."""
    import lightgbm as lgb

    categories = sorted(train["category"].dropna().unique())
    x = _matrix(train, categories)
    y = train["target_units"].astype("float64")
    boosters = {}
    for name, alpha in QUANTILES.items():
        params = {
            "objective": "quantile",
            "alpha": alpha,
            "num_leaves": config.num_leaves,
            "learning_rate": config.learning_rate,
            "min_data_in_leaf": config.min_data_in_leaf,
            "seed": config.seed,
            "num_threads": config.num_threads,
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
        }
        data = lgb.Dataset(x, y, categorical_feature=["category"], free_raw_data=False)
        boosters[name] = lgb.train(params, data, num_boost_round=config.num_boost_round)
    return DemandModel(boosters, categories, config)


def predict(model: DemandModel, frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``p50_units`` and ``p90_units`` (>= 0, P90 >= P50) for each row."""
    x = _matrix(frame, model.categories)
    p50 = np.clip(model.boosters["p50"].predict(x), 0, None)
    p90 = np.maximum(np.clip(model.boosters["p90"].predict(x), 0, None), p50)
    return pd.DataFrame({"p50_units": p50, "p90_units": p90}, index=frame.index)


def seasonal_naive(frame: pd.DataFrame) -> pd.Series:
    """Same weekday of the last observed week: the baseline to beat."""
    return frame["same_weekday_last_week_units"].fillna(0.0)


def accuracy(actual, p50, p90=None) -> dict:
    """WAPE and bias of the point forecast, P90 pinball loss and coverage."""
    actual, p50 = np.asarray(actual, float), np.asarray(p50, float)
    total = max(actual.sum(), 1e-9)
    out = {
        "wape": float(np.abs(actual - p50).sum() / total),
        "bias": float((p50 - actual).sum() / total),
        "rows": int(len(actual)),
    }
    if p90 is not None:
        p90 = np.asarray(p90, float)
        diff = actual - p90
        out["pinball_p90"] = float(np.maximum(0.9 * diff, -0.1 * diff).mean())
        out["coverage_p90"] = float((actual <= p90).mean())
    return out
