import numpy as np
import pandas as pd
import pytest

from pipeline import kpi
from pipeline.kpi_report import roi_table

DEFAULT = (
    "customer_growth=0.25,conversion=0.30,arpc=0.15,promotion_roi=0.20,fill_rate=0.10"
)


def test_weights_are_normalised_and_unknown_kpis_rejected():
    w = kpi.normalised_weights("conversion=3,fill_rate=1")
    assert w["conversion"] == 0.75 and w["fill_rate"] == 0.25
    assert w["arpc"] == 0.0 and sum(w.values()) == pytest.approx(1.0)
    assert kpi.normalised_weights(DEFAULT)["conversion"] == pytest.approx(0.30)
    with pytest.raises(ValueError, match="visits=0.5"):
        kpi.normalised_weights("visits=0.5")
    with pytest.raises(ValueError, match="not all 0"):
        kpi.normalised_weights("arpc=0")


def test_score_maps_actual_between_zero_point_and_target():
    assert kpi.score(0.6, target=0.6, zero=0.2) == 100.0
    assert kpi.score(0.9, target=0.6, zero=0.2) == 100.0
    assert kpi.score(0.4, target=0.6, zero=0.2) == pytest.approx(50.0)
    assert kpi.score(0.1, target=0.6, zero=0.2) == 0.0
    assert kpi.score(float("nan"), target=0.6, zero=0.2) == 0.0
    assert [kpi.status(s) for s in (95, 70, 30)] == ["ok", "watch", "warning"]


def _orders():
    """Window 1 (Jan 2-31): a, b, c buy; window 0 (Dec 3 - Jan 1): a, b."""
    rows = [
        ("a", "2025-12-10", 1, 10.0, 0.0),
        ("b", "2025-12-20", 2, 10.0, 0.0),
        ("a", "2026-01-10", 1, 20.0, 0.0),
        ("b", "2026-01-20", 2, 20.0, 0.5),
        ("c", "2026-01-31", 1, 40.0, 0.0),
    ]
    cols = ["customer_id", "order_date", "qty_units", "unit_price_eur", "discount_pct"]
    return pd.DataFrame(rows, columns=cols).assign(
        order_date=lambda f: pd.to_datetime(f.order_date)
    )


def test_measure_and_pscore_on_a_hand_built_month():
    daily = pd.DataFrame(
        {
            "sales_date": pd.to_datetime(["2026-01-30"] * 4),
            "stockout": [False, False, False, True],
        }
    )
    roi = pd.DataFrame({"margin_eur": [30.0], "discount_eur": [20.0]})
    got = kpi.measure(_orders(), 6, daily, roi, "2026-01-31")
    assert got["customer_growth"] == pytest.approx(0.5)  # 3 buyers vs 2
    assert got["conversion"] == pytest.approx(0.5)  # 3 of 6 customers
    assert got["arpc"] == pytest.approx((20 + 20 + 40) / 3)
    assert got["previous_arpc"] == pytest.approx((10 + 20) / 2)
    assert got["promotion_roi"] == pytest.approx(1.5)  # margin is after discount
    assert got["fill_rate"] == pytest.approx(0.75)

    weights = kpi.normalised_weights(DEFAULT)
    table, pscore = kpi.kpi_table(got, weights, {"conversion": 0.6})
    t = table.set_index("kpi")
    assert t.target["arpc"] == pytest.approx(15 * 1.03)  # last month's, grown
    assert t.score["conversion"] == pytest.approx(75.0)  # (0.5-0.2)/(0.6-0.2)
    assert t.score["fill_rate"] == 0.0 and t.status["fill_rate"] == "warning"
    assert pscore == pytest.approx(round((t.weight * t.score).sum(), 1))
    assert pscore == pytest.approx(0.25 * 100 + 0.30 * 75 + 0.15 * 100 + 0.20 * 100)
    assert np.isclose(t.weight.sum(), 1.0)


def test_roi_takes_the_discount_off_once():
    # 10 units listed at 10 EUR, cost 6, sold 20% off: 8 EUR a unit, so 2 EUR
    # margin after discount and 2 EUR of discount each: 1 EUR back per EUR given
    price, cost, off, units = 10.0, 6.0, 0.2, 10
    roi = pd.DataFrame(
        {
            "channel": ["web"],
            "target_segment": ["potential"],
            "units": [units],
            "revenue_eur": [units * price * (1 - off)],
            "discount_eur": [units * price * off],
            "margin_eur": [units * (price * (1 - off) - cost)],
        }
    )
    assert roi_table(roi).roi.tolist() == pytest.approx([1.0])
    got = kpi.measure(
        _orders(), 6, pd.DataFrame(columns=["sales_date"]), roi, "2026-01-31"
    )
    assert got["promotion_roi"] == pytest.approx(1.0)
