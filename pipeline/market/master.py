"""Master data of the demo market: products, locations, customers, promotions."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.market import config as c


def make_products(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Products with prices, supplier terms and hidden demand parameters."""
    category = rng.choice(c.CATEGORIES, n)
    list_price = np.round(rng.lognormal(2.6, 0.7, n), 2)
    # A few head items sell daily; the long tail is intermittent.
    base = rng.lognormal(-0.3, 1.1, n)
    return pd.DataFrame(
        {
            "sku": [f"SKU{i:05d}" for i in range(n)],
            "category": category,
            "unit_cost": np.round(list_price * rng.uniform(0.45, 0.7, n), 2),
            "list_price": list_price,
            "supplier_id": [f"SUP{i:03d}" for i in rng.integers(0, max(2, n // 8), n)],
            "lead_time_days": rng.integers(2, 8, n),
            "moq": rng.choice([0, 6, 12, 24], n),
            "case_pack": rng.choice([1, 6, 12], n),
            "base_rate": base,
            "elasticity": rng.uniform(1.2, 2.8, n),
            "trend_per_year": rng.normal(0.05, 0.15, n),
        }
    )


def make_locations(rng: np.random.Generator, n: int, products: pd.DataFrame):
    """Locations with a demand scale and a capacity that binds at times."""
    scale = rng.uniform(0.6, 1.6, n)
    typical_stock = (products["base_rate"].to_numpy().sum() * 14) * scale
    return pd.DataFrame(
        {
            "location_id": [f"LOC{i:02d}" for i in range(n)],
            "region": [c.REGIONS[i % len(c.REGIONS)] for i in range(n)],
            "capacity_units": np.ceil(typical_stock * 1.6).astype(int),
            "holding_cost_per_unit_day": np.round(rng.uniform(0.01, 0.04, n), 3),
            "demand_scale": scale,
        }
    )


def make_customers(rng, n: int, start: pd.Timestamp, regions) -> pd.DataFrame:
    """Customers with PII (pseudonymised at extract) and a hidden segment."""
    segment = rng.choice(len(c.SEGMENTS), n, p=c.SEGMENT_SHARE)
    ids = np.arange(n)
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:07d}" for i in ids],
            "signup_date": start - pd.to_timedelta(rng.integers(0, 1500, n), "D"),
            "region": rng.choice(regions, n),
            "loyalty_tier": rng.choice(c.TIERS, n, p=[0.5, 0.3, 0.15, 0.05]),
            "marketing_consent": rng.random(n) < 0.7,
            "email": [f"customer{i}@example.com" for i in ids],
            "full_name": [f"Customer {i}" for i in ids],
            "segment_idx": segment,
        }
    )


def make_promotions(rng, products: pd.DataFrame, first: pd.Timestamp, last):
    """Marketing's own promotion calendar: ~2 new SKU promotions per week."""
    weeks = pd.date_range(first, last, freq="7D")
    per_week = max(1, len(products) // 25)
    rows = []
    for week in weeks:
        for k in range(per_week):
            i = rng.integers(len(products))
            start = week + pd.Timedelta(days=int(rng.integers(0, 7)))
            rows.append(
                {
                    "promo_id": f"P{week:%Y%m%d}{k:03d}",
                    "sku": products.sku.iat[i],
                    "category": None,
                    "start_date": start,
                    "end_date": start + pd.Timedelta(days=int(rng.integers(6, 14))),
                    "discount_pct": float(rng.choice([0.1, 0.15, 0.2, 0.3])),
                    "channel": "all",
                    "target_segment": c.SEGMENTS[int(rng.integers(len(c.SEGMENTS)))],
                    "budget": float(rng.choice([500, 1000, 2000])),
                    "paused_from": pd.NaT,
                }
            )
    return pd.DataFrame(rows)
