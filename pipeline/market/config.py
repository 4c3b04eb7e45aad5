"""Sizes and behavioural constants of the demo market."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MarketSize:
    """How big a demo market is."""

    skus: int
    locations: int
    customers: int


SIZES = {
    "XS": MarketSize(skus=12, locations=2, customers=300),  # tests
    "S": MarketSize(skus=50, locations=3, customers=2_000),
    "M": MarketSize(skus=2_000, locations=10, customers=200_000),
    "L": MarketSize(skus=10_000, locations=20, customers=1_000_000),  # bench only
}

REGIONS = ["north", "south", "east", "west"]
CATEGORIES = ["grocery", "household", "beauty", "apparel", "electronics", "toys"]
CHANNELS = ["store", "web", "app"]
CHANNEL_SHARE = [0.6, 0.3, 0.1]
TIERS = ["bronze", "silver", "gold", "platinum"]

# Hidden truth the pipeline must infer: each customer's segment, how often it
# buys, and how strongly a promotion aimed at it lifts demand.
SEGMENTS = ["high_value", "potential", "churn_risk", "low_value", "new"]
SEGMENT_SHARE = [0.10, 0.25, 0.20, 0.35, 0.10]
SEGMENT_PROPENSITY = [5.0, 2.0, 0.7, 0.5, 1.0]
SEGMENT_RESPONSE = [0.15, 0.9, 0.5, 0.1, 0.4]  # extra uplift when targeted

# Daily demand is Poisson(expected x Gamma(shape, 1/shape)): negative binomial
# with this shape around the expected units. The backtest's oracle uses it.
DEMAND_GAMMA_SHAPE = 4.0

LATE_LINE_RATE = 0.03  # lines that reach the extract one day late
CORRECTION_RATE = 0.01  # lines re-sent 1-3 days later as returned
DIRTY_ROW_RATE = 0.005
RETURN_RATE = 0.02
CANCEL_RATE = 0.01
MISSED_REVIEW_RATE = 0.15  # baseline ops skip a review now and then
BULK_BUY_SHARE = 0.1  # SKU x locations that receive a bulk deal late in history
