"""Customer segments: RFM scores, a segment and strategy each, CLV, response.

- RFM: recency, frequency and monetary value over the last year, each scored
  1-5 by quintile (ties share a score), combined with configurable weights.
- Segments, each with the strategy marketing runs for it: high value, potential,
  churn risk, low value and new.
- CLV = average order value x purchase frequency (orders a year) x gross margin
  rate x expected remaining lifetime (years), the lifetime being 1 / the
  annual churn rate of the customer's segment, measured on the segment's
  members of ``churned_after_days`` ago (``cohort_churn``).
- Promotion response per segment and category: units the segment bought of a
  SKU on days a promotion targeted it, over what it bought of that SKU on the
  SKU's days without any promotion (scaled to as many days).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

STRATEGIES = {
    "high_value": "retain: personal service, early access to offers",
    "potential": "develop: cross-sell, promotion incentives",
    "churn_risk": "win back: reactivation offer, care contact",
    "low_value": "low-cost channels only, no heavy spend",
    "new": "onboard: welcome offer, second-purchase nudge",
}
SEGMENTS = list(STRATEGIES)


@dataclass(frozen=True)
class SegmentConfig:
    """Weights of the RFM score (normalised to sum to 1) and segment rules."""

    recency_weight: float = 0.30
    frequency_weight: float = 0.35
    monetary_weight: float = 0.35
    new_customer_days: int = 60  # signed up this recently -> "new"
    low_value_below: float = 2.5  # weighted RFM score under which -> "low_value"
    churned_after_days: int = 90  # no order for this long counts as churned
    max_lifetime_years: float = 5.0  # cap where a segment shows no churn
    min_churn_cohort: int = 20  # fewer cohort buyers -> the whole base's churn
    frequency_floor_days: int = 365  # orders a year over at least this many days
    response_prior_units: float = 5.0  # shrinks thin response estimates to 1

    def weights(self) -> tuple[float, float, float]:
        """(recency, frequency, monetary) weights scaled to sum to 1."""
        raw = np.array(
            [self.recency_weight, self.frequency_weight, self.monetary_weight]
        )
        if (raw < 0).any() or raw.sum() <= 0:
            raise ValueError(f"RFM weights must be >= 0 and not all 0: {raw}")
        return tuple(float(w) for w in raw / raw.sum())


def quintile_score(values: pd.Series) -> pd.Series:
    """1-5 by quintile of ``values`` (higher value, higher score).

    Only values are ranked: NaN (no order in the year) scores 1 and takes no
    quintile, so non-buyers do not push buyers up the scale.
    """
    pct = values.astype(float).rank(method="average", pct=True)
    return np.ceil(pct * 5).clip(1, 5).fillna(1).astype(int)


def score_customers(activity: pd.DataFrame, ds: str, cfg=SegmentConfig()):
    """Per customer: r/f/m scores, weighted ``rfm_score``, ``segment``, ``strategy``.

    ``activity`` has customer_id, signup_date, recency_days (NaN: no order in
    the year), orders_365d and spend_365d_eur, as ``mart_customer_activity``.
    """
    w_r, w_f, w_m = cfg.weights()
    out = activity.copy()
    out["r_score"] = quintile_score(-out.recency_days)
    out["f_score"] = quintile_score(out.orders_365d.where(out.orders_365d > 0))
    out["m_score"] = quintile_score(out.spend_365d_eur.where(out.orders_365d > 0))
    out["rfm_score"] = w_r * out.r_score + w_f * out.f_score + w_m * out.m_score
    new_since = pd.Timestamp(ds) - pd.Timedelta(days=cfg.new_customer_days)
    rules = [
        pd.to_datetime(out.signup_date) > new_since,
        (out.r_score >= 4) & (out.f_score >= 4) & (out.m_score >= 4),
        (out.r_score <= 2) & (out.f_score >= 3),
        out.rfm_score < cfg.low_value_below,
    ]
    names = ["new", "high_value", "churn_risk", "low_value"]
    out["segment"] = np.select(rules, names, default="potential")
    out["strategy"] = out.segment.map(STRATEGIES)
    return out


def cohort_churn(cohort: pd.DataFrame, now: pd.DataFrame, cfg=SegmentConfig()):
    """Annual churn rate per segment, measured on a cohort that had time to churn.

    ``cohort``: customers scored as of ``churned_after_days`` before the run
    date (customer_id, segment, orders_365d); ``now``: activity as of the run
    date (customer_id, recency_days). The cohort's buyers churned when they
    have not ordered since (recency now NaN or >= the window). Measuring
    inside today's segments could not work: today's segments are defined by
    recency, so "new" could never churn and "high value" hardly ever.

    The share p churned in the window becomes an annual rate 1 - (1 - p) **
    (365 / window), floored at 1 / ``max_lifetime_years``. A segment whose
    cohort has fewer than ``min_churn_cohort`` buyers uses the whole cohort's
    rate (``churn_source`` "whole base"); with too small a whole cohort (less
    history than the window) every segment gets the cap ("lifetime cap").
    """
    buyers = cohort[cohort.orders_365d > 0][["customer_id", "segment"]]
    recency = buyers.customer_id.map(now.set_index("customer_id").recency_days)
    churned = recency.isna() | (recency >= cfg.churned_after_days)
    per = churned.groupby(buyers.segment).agg(["size", "mean"]).reindex(SEGMENTS)
    size = per["size"].fillna(0).astype(int)
    own = size >= cfg.min_churn_cohort
    whole_ok = len(buyers) >= cfg.min_churn_cohort
    p = per["mean"].where(own, churned.mean() if whole_ok else 0.0)
    annual = 1 - (1 - p.clip(upper=0.999)) ** (365 / cfg.churned_after_days)
    source = np.where(own, "cohort", "whole base" if whole_ok else "lifetime cap")
    return pd.DataFrame(
        {
            "churn_cohort_customers": size,
            "annual_churn_rate": annual.clip(lower=1 / cfg.max_lifetime_years),
            "churn_source": source,
        },
        index=pd.Index(SEGMENTS, name="segment"),
    )


def customer_value(scored: pd.DataFrame, ds: str, churn, cfg=SegmentConfig()):
    """``scored`` plus AOV, orders a year, margin rate, lifetime and ``clv_eur``.

    ``churn``: ``cohort_churn``'s frame (annual_churn_rate per segment).
    Orders a year count a customer's orders over the days since their first
    order in the year, but over at least ``frequency_floor_days`` (default
    the whole year): a customer first seen 30 days ago with 2 orders is not
    annualised to 24 orders a year.
    """
    orders = scored.orders_365d.where(scored.orders_365d > 0)
    first = pd.to_datetime(scored.first_order_date)
    known_days = ((pd.Timestamp(ds) - first).dt.days + 1).clip(upper=365)
    known_days = known_days.clip(lower=min(cfg.frequency_floor_days, 365))
    out = scored.assign(
        avg_order_value_eur=(scored.spend_365d_eur / orders).fillna(0.0),
        orders_per_year=(orders * 365 / known_days).fillna(0.0),
        margin_rate=(scored.margin_365d_eur / scored.spend_365d_eur.where(orders > 0))
        .fillna(0.0)
        .clip(lower=0.0),
        expected_lifetime_years=1 / scored.segment.map(churn.annual_churn_rate),
    )
    out["clv_eur"] = (
        out.avg_order_value_eur
        * out.orders_per_year
        * out.margin_rate
        * out.expected_lifetime_years
    )
    return out


def segment_summary(valued: pd.DataFrame, churn: pd.DataFrame) -> pd.DataFrame:
    """Per segment: customers, consent, CLV sum and mean, churn and its source."""
    grouped = valued.groupby("segment")
    return (
        pd.DataFrame(
            {
                "customers": grouped.size(),
                "consenting_customers": grouped.marketing_consent.sum().astype(int),
                "clv_eur": grouped.clv_eur.sum(),
                "mean_clv_eur": grouped.clv_eur.mean(),
            }
        )
        .reindex(SEGMENTS)
        .join(churn)
        .fillna({"customers": 0, "consenting_customers": 0, "clv_eur": 0.0})
        .astype({"customers": int, "consenting_customers": int})
        .assign(strategy=lambda f: f.index.map(STRATEGIES))
        .rename_axis("segment")
        .reset_index()
    )


def promotion_response(units, promo_days, segments, cfg=SegmentConfig()):
    """Per segment x category: units when targeted vs expected without a promotion.

    ``units``: customer_id, sku, category, order_date, units (as
    ``mart_segment_promo_units``); ``promo_days``: sku, promo_date,
    target_segment (``mart_promotion_days``); ``segments``: customer_id,
    segment. Returns segment, category, targeted_days, targeted_units,
    expected_units and ``response_lift`` = (targeted + prior) / (expected +
    prior), 1.0 where no promotion ever targeted the segment in the category.
    """
    return response_from_daily(segment_daily_units(units, segments), promo_days, cfg)


def segment_daily_units(units, segments) -> pd.DataFrame:
    """Units per sku, category, order_date and buyer's segment (NaN: a buyer
    without one); ``sql/promotions/segment_daily_units.sql`` in DuckDB."""
    sold = units.merge(
        segments[["customer_id", "segment"]], on="customer_id", how="left"
    )
    keys = ["sku", "category", "order_date", "segment"]
    return sold.groupby(keys, as_index=False, dropna=False)["units"].sum()


def response_from_daily(daily, promo_days, cfg=SegmentConfig()):
    """``promotion_response`` from ``segment_daily_units``' rows."""
    every_buyer = daily  # dates, SKUs and categories count buyers without a segment
    daily = daily[daily.segment.notna()]
    days = promo_days.rename(columns={"promo_date": "order_date"})
    # Overlapping promotions for different segments: each keeps its exposure.
    days = days.drop_duplicates(["sku", "order_date", "target_segment"])[
        ["sku", "order_date", "target_segment"]
    ]
    daily = daily.merge(days, on=["sku", "order_date"], how="left")
    n_days = (
        pd.to_datetime(every_buyer.order_date).max()
        - pd.to_datetime(every_buyer.order_date).min()
    ).days + 1
    control = _control_rate(daily, days, every_buyer, n_days)
    treated = (
        daily[daily.target_segment == daily.segment]
        .groupby(["sku", "segment"])
        .units.sum()
        .rename("targeted_units")
    )
    return _lift_per_category(days, every_buyer, control, treated, cfg)


def _control_rate(daily, days, units, n_days) -> pd.Series:
    """Units per day each segment buys of each SKU on the SKU's unpromoted days."""
    plain = daily[daily.target_segment.isna()].groupby(["sku", "segment"]).units.sum()
    promoted = days.groupby("sku").order_date.nunique()
    skus = pd.Index(units.sku.unique(), name="sku")
    plain_days = (n_days - promoted.reindex(skus).fillna(0)).clip(lower=1)
    rate = plain / plain_days.reindex(plain.index.get_level_values("sku")).to_numpy()
    return rate.rename("control_units_per_day")


def _lift_per_category(days, units, control, treated, cfg) -> pd.DataFrame:
    categories = units.drop_duplicates("sku").set_index("sku").category
    exposure = (
        days.dropna(subset=["target_segment"])
        .groupby(["sku", "target_segment"])
        .size()
        .rename("targeted_days")
        .rename_axis(["sku", "segment"])
        .to_frame()
        .join(control)
        .join(treated)
        .fillna(0.0)
    )
    exposure["expected_units"] = exposure.control_units_per_day * exposure.targeted_days
    exposure["category"] = categories.reindex(
        exposure.index.get_level_values("sku")
    ).to_numpy()
    per = exposure.groupby(["segment", "category"])[
        ["targeted_days", "targeted_units", "expected_units"]
    ].sum()
    grid = pd.MultiIndex.from_product(
        [SEGMENTS, sorted(categories.dropna().unique())], names=["segment", "category"]
    )
    per = per.reindex(grid).fillna(0.0)
    prior = cfg.response_prior_units
    per["response_lift"] = (per.targeted_units + prior) / (per.expected_units + prior)
    return per.reset_index()
