import numpy as np
import pandas as pd
import pytest

from models.elasticity import ElasticityConfig, fit_elasticities


def _history(category, elasticity, promo_share, seed):
    """Two SKUs x two locations x 120 days of constant-elasticity demand.

    A promotion covers its SKU at every location, as marketing's calendar does.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for sku in (f"{category}-1", f"{category}-2"):
        for day in pd.date_range("2025-09-01", periods=120):
            disc = rng.choice([0.1, 0.2, 0.3]) if rng.random() < promo_share else 0
            weekly = 1.3 if day.dayofweek >= 5 else 1.0
            for loc, level in (("L1", 150.0), ("L2", 300.0)):
                mean = level * weekly * (1 - disc) ** (-elasticity)
                units = rng.poisson(mean)
                rows.append((sku, loc, category, day, units, disc, False))
    return pd.DataFrame(
        rows,
        columns=[
            "sku",
            "location_id",
            "category",
            "sales_date",
            "units_sold",
            "promo_discount_pct",
            "stockout",
        ],
    )


def test_fitted_elasticity_recovers_the_truth_per_category():
    daily = pd.concat([_history("toys", 2.5, 0.3, 1), _history("grocery", 1.0, 0.3, 2)])
    fit = fit_elasticities(daily, ElasticityConfig(prior_rows=0.001))
    got = fit.set_index("category").fitted_elasticity
    assert got["toys"] == pytest.approx(2.5, abs=0.1)
    assert got["grocery"] == pytest.approx(1.0, abs=0.1)


def test_stock_out_days_are_left_out():
    daily = _history("toys", 2.0, 0.3, 3)
    clean = fit_elasticities(daily).fitted_elasticity.iat[0]
    censored = daily.copy()
    promo = censored.promo_discount_pct > 0
    censored.loc[promo, "units_sold"] = 0  # sold out: promotions sold nothing
    censored.loc[promo, "stockout"] = True
    # Every promoted row is censored: no price variation is left, the prior rules.
    assert fit_elasticities(censored).elasticity.iat[0] == 1.5
    assert clean == pytest.approx(2.0, abs=0.15)


def test_thin_evidence_is_shrunk_towards_the_prior():
    daily = _history("toys", 3.0, 0.03, 4)  # a handful of promoted days
    fit = fit_elasticities(daily, ElasticityConfig(prior=1.5, prior_rows=30)).iloc[0]
    weight = fit.promoted_rows / (fit.promoted_rows + 30)
    assert 0 < weight < 0.9
    expected = weight * fit.fitted_elasticity + (1 - weight) * 1.5
    assert fit.elasticity == pytest.approx(expected)
