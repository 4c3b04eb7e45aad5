"""Price elasticity of demand per category, fitted from the sales history.

Per category, an ordinary least-squares fit of

    log(1 + units) = series effect - elasticity x log(price / list price)
                     + day-of-week + trend + share of the category's other SKUs
                     on promotion that day

on SKU x day rows (units summed over locations: small counts would flatten
log(1 + units) and understate the elasticity), days with a stock-out
anywhere left out (their sales are censored). The series effect is removed by
demeaning within each SKU (the within estimator), so the slope comes from
price changes inside a series, i.e. promotions. The only price moves in the history are
promotions, so thin categories get few of them: the estimate is shrunk
towards ``prior`` by the number of promoted rows and clipped to a sane range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class ElasticityConfig:
    """Prior and bounds of the fitted elasticity (positive: demand falls with price)."""

    prior: float = 1.5
    prior_rows: float = 30.0  # promoted rows that weigh as much as the prior
    lower: float = 0.2
    upper: float = 5.0


def fit_elasticities(daily: pd.DataFrame, cfg=ElasticityConfig()) -> pd.DataFrame:
    """Per category: elasticity (shrunk), fitted_elasticity, std_error, rows.

    ``daily`` has sku, category, sales_date, units_sold,
    promo_discount_pct and stockout, as ``mart_demand_daily`` joined with the
    product's category.
    """
    rows = []
    per_day = _per_sku_day(daily)
    for category, frame in per_day[~per_day.stockout].groupby("category", sort=True):
        fitted, se, promoted = _fit_category(frame)
        weight = promoted / (promoted + cfg.prior_rows)
        shrunk = weight * fitted + (1 - weight) * cfg.prior if promoted else cfg.prior
        rows.append(
            {
                "category": category,
                "elasticity": float(np.clip(shrunk, cfg.lower, cfg.upper)),
                "fitted_elasticity": fitted,
                "std_error": se,
                "promoted_rows": promoted,
                "rows": len(frame),
            }
        )
    return pd.DataFrame(rows)


def _per_sku_day(daily: pd.DataFrame) -> pd.DataFrame:
    """Units summed over locations; a stock-out anywhere marks the day."""
    return daily.groupby(["sku", "category", "sales_date"], as_index=False).agg(
        units_sold=("units_sold", "sum"),
        promo_discount_pct=("promo_discount_pct", "max"),
        stockout=("stockout", "any"),
    )


def _fit_category(frame: pd.DataFrame) -> tuple[float, float, int]:
    """(elasticity, its standard error, promoted rows) of one category."""
    promoted = int((frame.promo_discount_pct > 0).sum())
    if promoted == 0 or frame.promo_discount_pct.nunique() < 2:
        return float("nan"), float("nan"), 0
    x = _design(frame)
    series = frame.groupby("sku").ngroup().to_numpy()
    y = _demean(np.log1p(frame.units_sold.to_numpy(float)), series)
    x = np.column_stack([_demean(col, series) for col in x.T])
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ beta
    dof = max(len(y) - x.shape[1] - (series.max() + 1), 1)
    cov = np.linalg.pinv(x.T @ x) * (resid @ resid) / dof
    return float(-beta[0]), float(np.sqrt(cov[0, 0])), promoted


def _design(frame: pd.DataFrame) -> np.ndarray:
    """Columns: log price ratio, day-of-week dummies, trend, other SKUs' promotions."""
    dates = pd.to_datetime(frame.sales_date)
    log_price = np.log1p(-frame.promo_discount_pct.clip(upper=0.95).to_numpy())
    dow = np.eye(7)[dates.dt.dayofweek.to_numpy()][:, 1:]
    trend = ((dates - dates.min()).dt.days / 365.0).to_numpy()
    on_promo = (frame.promo_discount_pct > 0).astype(float)
    per_day = on_promo.groupby(dates).transform("sum")
    skus_per_day = frame.sku.groupby(dates).transform("size")
    others = ((per_day - on_promo) / (skus_per_day - 1).clip(lower=1)).to_numpy()
    return np.column_stack([log_price, dow, trend, others])


def _demean(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    sums = np.bincount(groups, weights=values)
    counts = np.bincount(groups)
    return values - (sums / counts)[groups]
