import pandas as pd
import pytest

from models.promotions import PromoConfig, prestock_requests, propose

DS = "2026-01-31"


def _position(sku, on_hand, on_order=0, cost=5.0, price=10.0, category="toys"):
    return dict(
        sku=sku,
        category=category,
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
        "segment": ["potential", "high_value", "churn_risk", "low_value"],
        "category": ["toys", "toys", "toys", "grocery"],
        "response_lift": [1.8, 1.1, 2.5, 3.0],
        "consenting_customers": [50, 20, 0, 10],
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
    assert row.start_date == "2026-02-01" and row.end_date == "2026-02-14"
    assert row.discount_pct == 0.4  # 333 days of cover: the deepest allowed
    assert "overstock" in row.reason
    assert row.expected_units > 14  # more than the 14 units at full price


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


def test_depth_follows_the_fitted_elasticity():
    """Excess of 30 units over 14 days of 1/day: 1 - (1 + 30/14) ** (-1/e)."""
    pos = pd.DataFrame([_position("SLOW", on_hand=105)])
    fc = pd.DataFrame(_forecast("SLOW", 1.0))
    cfg = PromoConfig(overstock_days=50)  # 105 / 1.5 = 70 days; excess 30 units
    elastic = propose(pos, fc, NO_PLAN, _promos([]), RESPONSE, DS, cfg, {"toys": 3.0})
    inelastic = propose(pos, fc, NO_PLAN, _promos([]), RESPONSE, DS, cfg, {"toys": 1.5})
    assert elastic.discount_pct.tolist() == [0.31]
    assert inelastic.discount_pct.tolist() == [0.4]  # would need 53 %: capped
    # The expected units follow the same curve: 14 x 0.69 ** -3.
    assert elastic.expected_units.iat[0] == pytest.approx(14 * 0.69**-3, abs=0.1)
    # A category without a fit uses the configured prior, not a fixed 1.5.
    prior = PromoConfig(overstock_days=50, prior_elasticity=3.0)
    unfitted = propose(pos, fc, NO_PLAN, _promos([]), RESPONSE, DS, prior, {})
    assert unfitted.discount_pct.tolist() == [0.31]


def test_markdown_targets_the_best_consenting_segment_of_its_category():
    pos = pd.DataFrame(
        [
            _position("TOY", on_hand=500),
            _position("FOOD", on_hand=500, category="grocery"),
            _position("PEN", on_hand=500, category="stationery"),
        ]
    )
    fc = pd.DataFrame(
        _forecast("TOY", 1.0) + _forecast("FOOD", 1.0) + _forecast("PEN", 1.0)
    )
    adj = propose(pos, fc, NO_PLAN, _promos([]), RESPONSE, DS).set_index("sku")
    assert adj.target_segment.to_dict() == {
        "FOOD": "low_value",  # the only grocery measurement
        "PEN": "low_value",  # unmeasured category: best pooled lift with consent
        "TOY": "potential",  # churn_risk responds more but gave no consent
    }
    nobody = RESPONSE.assign(consenting_customers=0)
    assert propose(pos, fc, NO_PLAN, _promos([]), nobody, DS).empty


def test_budget_cap_keeps_the_most_valuable_markdowns():
    pos = pd.DataFrame([_position("BIG", on_hand=900), _position("SMALL", on_hand=300)])
    fc = pd.DataFrame(_forecast("BIG", 1.0) + _forecast("SMALL", 1.0))
    both = propose(pos, fc, NO_PLAN, _promos([]), RESPONSE, DS)
    one_cost = (both.expected_units * 10 * both.discount_pct).iat[0]
    capped = propose(
        pos,
        fc,
        NO_PLAN,
        _promos([]),
        RESPONSE,
        DS,
        PromoConfig(budget_eur=one_cost + 1),
    )
    assert both.sku.tolist() == ["BIG", "SMALL"]
    assert capped.sku.tolist() == ["BIG"]  # more stock value freed first


def test_shortage_shrinks_when_supply_carries_a_smaller_discount():
    # P90 over the 3-day lead time: 3 x 6 = 18 units with 30 % off; without the
    # promotion 18 x 0.7 ** 1.5 = 10.5; 14 on hand carry at most 17 % off.
    pos = pd.DataFrame([_position("WARM", on_hand=14)])
    promos = _promos(
        [["P1", "WARM", "2026-01-25", "2026-02-10", 0.3, "active", "potential"]]
    )
    adj = propose(
        pos, pd.DataFrame(_forecast("WARM", 4.0)), NO_PLAN, promos, RESPONSE, DS
    )
    assert adj[["action", "promo_id", "discount_pct"]].values.tolist() == [
        ["shrink", "P1", 0.17]
    ]
    assert adj.expected_units.iat[0] < 0 and "pre-stock" in adj.reason.iat[0]


def test_prestock_request_names_the_shortfall():
    pos = pd.DataFrame([_position("HOT", on_hand=5, on_order=3)])
    promos = _promos(
        [["P1", "HOT", "2026-02-03", "2026-02-10", 0.3, "planned", "potential"]]
    )
    req = prestock_requests(
        pos, pd.DataFrame(_forecast("HOT", 4.0)), NO_PLAN, promos, DS
    )
    assert req[["sku", "promo_id", "shortfall_units"]].values.tolist() == [
        ["HOT", "P1", 18.0 - 8.0]
    ]


def test_a_sold_out_sku_waiting_for_arrivals_is_not_ageing_stock():
    # 0 on hand, 20 on order, 3/day: 4 days of cover, nothing on the shelf
    pos = pd.DataFrame([_position("GONE", on_hand=0, on_order=20)])
    fc = pd.DataFrame(_forecast("GONE", 2.0))
    ageing = pd.Series({"GONE": 60})
    adj = propose(pos, fc, NO_PLAN, _promos([]), RESPONSE, DS, ageing=ageing)
    assert adj.empty


def test_ageing_stock_on_the_shelf_is_marked_down_and_says_so():
    pos = pd.DataFrame([_position("DUSTY", on_hand=20)])
    fc = pd.DataFrame(_forecast("DUSTY", 2.0))  # 20 / 3 = 7 days of cover
    ageing = pd.Series({"DUSTY": 40})
    adj = propose(pos, fc, NO_PLAN, _promos([]), RESPONSE, DS, ageing=ageing)
    assert adj.action.tolist() == ["markdown"]
    assert adj.reason[0].startswith("ageing stock: 20 on hand unsold for 40")


@pytest.mark.parametrize("hold, marked_down", [(0.001, False), (0.01, True)])
def test_overstock_markdown_must_save_more_holding_cost_than_it_gives(
    hold, marked_down
):
    # 500 on hand at 1.5/day P90: 303 days of cover past 30. The 40 % markdown
    # gives 14 x 0.6 ** -1.5 = 30 units x 4 EUR = 120 EUR away; the excess
    # 1.5 x 303 = 455 units wait 151 days on average: 68,857 unit-days.
    pos = pd.DataFrame([_position("SLOW", on_hand=500)]).assign(
        holding_cost_eur_per_unit_day=hold
    )
    fc = pd.DataFrame(_forecast("SLOW", 1.0))
    adj = propose(pos, fc, NO_PLAN, _promos([]), RESPONSE, DS)
    assert (adj.action.tolist() == ["markdown"]) is marked_down
