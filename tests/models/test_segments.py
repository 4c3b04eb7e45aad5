import numpy as np
import pandas as pd
import pytest

from models.segments import (
    SEGMENTS,
    SegmentConfig,
    cohort_churn,
    customer_value,
    promotion_response,
    quintile_score,
    score_customers,
    segment_summary,
)

DS = "2026-01-31"
OLD = "2024-01-01"


def _customers():
    """Ten hand-built customers: (id, signup, recency, orders, spend, margin)."""
    rows = [
        ("vip1", OLD, 2, 40, 4000.0, 1200.0),
        ("vip2", OLD, 3, 35, 3500.0, 1050.0),
        ("fading1", OLD, 260, 20, 900.0, 270.0),
        ("fading2", OLD, 280, 18, 800.0, 240.0),
        ("mid1", OLD, 10, 6, 300.0, 90.0),
        ("mid2", OLD, 20, 8, 500.0, 150.0),
        ("rare1", OLD, 300, 1, 20.0, 6.0),
        ("rare2", OLD, 200, 2, 40.0, 12.0),
        ("none", OLD, np.nan, 0, 0.0, 0.0),
        ("fresh", "2026-01-20", 5, 1, 50.0, 15.0),
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "customer_id",
            "signup_date",
            "recency_days",
            "orders_365d",
            "spend_365d_eur",
            "margin_365d_eur",
        ],
    )
    first = pd.Timestamp(DS) - pd.to_timedelta(364, "D")
    return frame.assign(
        marketing_consent=True,
        first_order_date=np.where(frame.orders_365d > 0, first, pd.NaT),
    )


def test_quintile_scores_rank_and_share_ties():
    assert quintile_score(pd.Series([1, 2, 3, 4, 5])).tolist() == [1, 2, 3, 4, 5]
    # tied buyers share the average rank of their places (pct 0.75 -> 4)
    assert quintile_score(pd.Series([7, 7, np.nan])).tolist() == [4, 4, 1]


def test_non_buyers_score_1_and_take_no_quintile_from_buyers():
    # two buyers among eight non-buyers: ranked between themselves, not on top
    values = pd.Series([np.nan] * 8 + [1.0, 2.0])
    assert quintile_score(values).tolist() == [1] * 8 + [3, 5]


def test_segments_of_hand_built_customers():
    seg = score_customers(_customers(), DS).set_index("customer_id").segment
    assert seg.to_dict() == {
        "vip1": "high_value",
        "vip2": "high_value",
        "fading1": "churn_risk",
        "fading2": "churn_risk",
        "mid1": "potential",
        "mid2": "potential",
        "rare1": "low_value",
        "rare2": "low_value",
        "none": "low_value",
        "fresh": "new",
    }


def test_rfm_weights_are_normalised_and_change_the_score():
    recency_only = SegmentConfig(
        recency_weight=2, frequency_weight=0, monetary_weight=0
    )
    assert recency_only.weights() == (1.0, 0.0, 0.0)
    scored = score_customers(_customers(), DS, recency_only).set_index("customer_id")
    assert (scored.rfm_score == scored.r_score).all()
    with pytest.raises(ValueError, match="RFM weights"):
        SegmentConfig(recency_weight=-1).weights()


def _churn(**rates):
    rate = pd.Series({seg: rates.get(seg, 0.5) for seg in SEGMENTS})
    return pd.DataFrame({"annual_churn_rate": rate}).rename_axis("segment")


def test_clv_is_aov_times_frequency_times_margin_times_lifetime():
    churn = _churn(high_value=0.2, churn_risk=1.0)
    scored = score_customers(_customers(), DS)
    valued = customer_value(scored, DS, churn).set_index("customer_id")
    vip = valued.loc["vip1"]
    assert vip.expected_lifetime_years == pytest.approx(5.0)  # 1 / 0.2
    assert vip.clv_eur == pytest.approx(100.0 * 40 * 0.3 * 5.0)
    assert valued.loc["fading1"].expected_lifetime_years == pytest.approx(1.0)
    assert valued.loc["none"].clv_eur == 0.0
    # "fresh" first ordered 11 days ago: 1 order counts 1 a year, not 33
    assert valued.loc["fresh"].orders_per_year == pytest.approx(1.0)
    summary = segment_summary(valued, churn).set_index("segment")
    assert summary.customers.to_dict() == {
        "high_value": 2,
        "potential": 2,
        "churn_risk": 2,
        "low_value": 3,
        "new": 1,
    }
    assert summary.clv_eur.sum() == pytest.approx(valued.clv_eur.sum())
    assert summary.annual_churn_rate["high_value"] == pytest.approx(0.2)


def _cohort(segment, n, start=0):
    ids = [f"{segment}{i}" for i in range(start, start + n)]
    return pd.DataFrame({"customer_id": ids, "segment": segment, "orders_365d": 3})


def test_churn_is_measured_on_the_cohort_of_90_days_ago():
    # 40 customers were new 90 days ago; 10 have not ordered since. 30 were
    # high value; all still buy. 5 were churn risks: too few, whole base used.
    cohort = pd.concat(
        [_cohort("new", 40), _cohort("high_value", 30), _cohort("churn_risk", 5)]
    )
    silent = {f"new{i}" for i in range(10)} | {f"churn_risk{i}" for i in range(5)}
    now = cohort[["customer_id"]].assign(
        recency_days=[np.nan if c in silent else 10.0 for c in cohort.customer_id]
    )
    cfg = SegmentConfig(max_lifetime_years=5.0, min_churn_cohort=20)
    churn = cohort_churn(cohort, now, cfg)
    assert churn.annual_churn_rate["new"] == pytest.approx(1 - 0.75 ** (365 / 90))
    assert churn.annual_churn_rate["high_value"] == pytest.approx(0.2)  # the cap
    whole = 1 - (1 - 15 / 75) ** (365 / 90)
    assert churn.annual_churn_rate["churn_risk"] == pytest.approx(whole)
    assert churn.churn_source.to_dict() == {
        "high_value": "cohort",
        "potential": "whole base",
        "churn_risk": "whole base",
        "low_value": "whole base",
        "new": "cohort",
    }
    assert churn.churn_cohort_customers["new"] == 40


def test_without_a_cohort_every_segment_gets_the_lifetime_cap():
    cohort = _cohort("new", 3)
    now = cohort[["customer_id"]].assign(recency_days=np.nan)
    churn = cohort_churn(cohort, now, SegmentConfig(min_churn_cohort=20))
    assert (churn.churn_source == "lifetime cap").all()
    assert churn.annual_churn_rate.tolist() == pytest.approx([0.2] * 5)


def test_overlapping_promotions_keep_each_segments_exposure():
    days = pd.date_range("2026-01-01", periods=10)
    segments = pd.DataFrame(
        {"customer_id": ["a", "b"], "segment": ["new", "potential"]}
    )
    units = pd.DataFrame(
        [(c, "X", "toys", d, 1) for c in "ab" for d in days],
        columns=["customer_id", "sku", "category", "order_date", "units"],
    )
    # two promotions on X over the same 3 days, one per segment
    promo_days = pd.DataFrame(
        {
            "sku": "X",
            "promo_date": list(days[7:]) * 2,
            "target_segment": ["new"] * 3 + ["potential"] * 3,
        }
    )
    resp = promotion_response(units, promo_days, segments).set_index("segment")
    assert resp.targeted_days["new"] == 3 and resp.targeted_days["potential"] == 3
    assert resp.targeted_units["potential"] == 3
    assert resp.expected_units["potential"] == pytest.approx(3.0)  # 1/day x 3


def test_response_compares_targeted_days_with_unpromoted_days():
    days = pd.date_range("2026-01-01", periods=10)
    segments = pd.DataFrame(
        {"customer_id": ["a", "b"], "segment": ["potential", "new"]}
    )
    # "a" buys 1 unit of X a day, 3 a day while a promotion targets "potential"
    # (days 8-10); "b" buys 1 a day throughout.
    units = pd.DataFrame(
        [("a", "X", "toys", d, 3 if i >= 7 else 1) for i, d in enumerate(days)]
        + [("b", "X", "toys", d, 1) for d in days],
        columns=["customer_id", "sku", "category", "order_date", "units"],
    )
    promo_days = pd.DataFrame(
        {"sku": "X", "promo_date": days[7:], "target_segment": "potential"}
    )
    cfg = SegmentConfig(response_prior_units=0.0)
    resp = promotion_response(units, promo_days, segments, cfg).set_index(
        ["segment", "category"]
    )
    assert resp.loc[("potential", "toys")].targeted_units == 9
    assert resp.loc[("potential", "toys")].expected_units == pytest.approx(3.0)
    assert resp.loc[("potential", "toys")].response_lift == pytest.approx(3.0)
    # The default prior shrinks thin evidence; "new" was never targeted: lift 1.
    shrunk = promotion_response(units, promo_days, segments).set_index(
        ["segment", "category"]
    )
    assert shrunk.response_lift[("potential", "toys")] == pytest.approx(14 / 8)
    assert shrunk.response_lift[("new", "toys")] == 1.0
