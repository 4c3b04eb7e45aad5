import pandas as pd

from models.promotions import PromoConfig, propose

DS = "2026-01-31"


def _position(sku, on_hand, on_order=0, cost=5.0, price=10.0):
    return dict(
        sku=sku,
        location_id="L1",
        on_hand_units=on_hand,
        on_order_units=on_order,
        unit_cost_eur=cost,
        list_price_eur=price,
        lead_time_days=3,
    )


def _forecast(sku, daily):
    return [
        dict(
            sku=sku,
            location_id="L1",
            horizon_day=h,
            p50_units=daily,
            p90_units=daily * 1.5,
        )
        for h in range(1, 15)
    ]


RESPONSE = pd.DataFrame(
    {
        "segment": ["potential", "high_value", "churn_risk"],
        "response_lift": [1.8, 1.1, 2.5],
        "consenting_customers": [50, 20, 0],
    }
)
NO_PLAN = pd.DataFrame(columns=["sku", "order_qty_units"])


def _promos(rows):
    cols = [
        "promo_id",
        "sku",
        "start_date",
        "end_date",
        "discount_pct",
        "status",
        "target_segment",
    ]
    f = pd.DataFrame(rows, columns=cols)
    for c in ("start_date", "end_date"):
        f[c] = pd.to_datetime(f[c])
    return f


def test_overstock_gets_a_markdown_for_the_best_consenting_segment():
    pos = pd.DataFrame([_position("SLOW", on_hand=500), _position("OK", on_hand=20)])
    fc = pd.DataFrame(_forecast("SLOW", 1.0) + _forecast("OK", 2.0))
    adj = propose(pos, fc, NO_PLAN, _promos([]), RESPONSE, DS)
    assert adj.action.tolist() == ["markdown"]
    row = adj.iloc[0]
    assert (
        row.sku == "SLOW" and row.target_segment == "potential"
    )  # churn_risk has no consent
    assert row.start_date == "2026-02-01" and row.discount_pct == 0.2
    assert "overstock" in row.reason


def test_markdown_never_goes_below_the_margin_floor():
    pos = pd.DataFrame([_position("THIN", on_hand=500, cost=9.3, price=10.0)])
    adj = propose(
        pos, pd.DataFrame(_forecast("THIN", 1.0)), NO_PLAN, _promos([]), RESPONSE, DS
    )
    assert adj.empty  # the floor allows 2 % off, less than the 5 % minimum
    pos = pd.DataFrame([_position("EDGE", on_hand=500, cost=9.0, price=10.0)])
    adj = propose(
        pos, pd.DataFrame(_forecast("EDGE", 1.0)), NO_PLAN, _promos([]), RESPONSE, DS
    )
    assert adj.discount_pct.tolist() == [0.05]  # 9.50 >= 9.00 x 1.05; 6 % would not be
    pos = pd.DataFrame([_position("MID", on_hand=500, cost=8.0, price=10.0)])
    adj = propose(
        pos, pd.DataFrame(_forecast("MID", 1.0)), NO_PLAN, _promos([]), RESPONSE, DS
    )
    assert adj.discount_pct.tolist() == [0.16]


def test_stock_out_risk_pauses_the_running_promotion():
    pos = pd.DataFrame([_position("HOT", on_hand=5)])
    promos = _promos(
        [
            ["P1", "HOT", "2026-01-25", "2026-02-10", 0.3, "active", "potential"],
            ["P2", "HOT", "2026-01-01", "2026-01-20", 0.3, "ended", "potential"],
        ]
    )
    adj = propose(
        pos, pd.DataFrame(_forecast("HOT", 4.0)), NO_PLAN, promos, RESPONSE, DS
    )
    assert adj[["action", "promo_id"]].values.tolist() == [["pause", "P1"]]
    assert "stock-out risk" in adj.reason.iat[0]


def test_no_markdown_while_a_promotion_already_runs():
    pos = pd.DataFrame([_position("SLOW", on_hand=500)])
    promos = _promos(
        [["P1", "SLOW", "2026-01-25", "2026-02-10", 0.1, "active", "potential"]]
    )
    adj = propose(
        pos, pd.DataFrame(_forecast("SLOW", 1.0)), NO_PLAN, promos, RESPONSE, DS
    )
    assert adj.empty


def test_config_threshold_is_used():
    pos = pd.DataFrame([_position("SLOW", on_hand=100)])
    fc = pd.DataFrame(_forecast("SLOW", 1.0))
    assert propose(
        pos, fc, NO_PLAN, _promos([]), RESPONSE, DS, PromoConfig(overstock_days=200)
    ).empty
    assert (
        len(
            propose(
                pos,
                fc,
                NO_PLAN,
                _promos([]),
                RESPONSE,
                DS,
                PromoConfig(overstock_days=30),
            )
        )
        == 1
    )
