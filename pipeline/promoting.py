"""Score customers, measure responses, adjust promotions; write marketing's CSVs.

Outputs for run date ``ds``:
- ``out/<ds>/promotion_adjustments.csv``: one row per markdown, shrink or pause;
- ``out/<ds>/prestock_requests.csv``: units replenishment should pre-stock
  for promotions a shortage threatens;
- ``out/<ds>/customer_segments.csv``, ``segment_response.csv``,
  ``price_elasticity.csv``: what the decisions were based on;
- ``lake/segments/ds=<ds>/part-0.parquet``: each customer's scores and CLV.
"""

from __future__ import annotations

import pandas as pd

from models.elasticity import ElasticityConfig, fit_elasticities
from models.promotions import PromoConfig, prestock_requests, propose
from models.segments import (
    SegmentConfig,
    cohort_churn,
    customer_value,
    promotion_response,
    score_customers,
    segment_summary,
)
from pipeline import io
from pipeline.planning import forecast_path
from pipeline.settings import Settings
from pipeline.warehouse import query, read_warehouse

# Decimals of the evidence CSVs, as promotion_adjustments: EUR to the cent,
# units to a tenth, rates and lifts to what a reader can act on.
ROUNDING = {
    "clv_eur": 2,
    "mean_clv_eur": 2,
    "annual_churn_rate": 4,
    "targeted_days": 0,
    "targeted_units": 1,
    "expected_units": 1,
    "response_lift": 3,
    "elasticity": 3,
    "fitted_elasticity": 3,
    "std_error": 3,
}


def segments_path(settings: Settings, ds: str):
    return settings.lake / "segments" / f"ds={ds}" / "part-0.parquet"


def score_segments(settings: Settings, ds: str):
    """(customers with scores and CLV, response per segment x category, churn)."""
    cfg = SegmentConfig(
        recency_weight=settings.rfm_recency_weight,
        frequency_weight=settings.rfm_frequency_weight,
        monetary_weight=settings.rfm_monetary_weight,
    )
    activity = query(settings, "mart_customer_activity")
    scored = score_customers(activity, ds, cfg)
    churn = segment_churn(settings, activity, ds, cfg)
    valued = customer_value(scored, ds, churn, cfg)
    response = promotion_response(
        query(settings, "mart_segment_promo_units"),
        query(settings, "mart_promotion_days"),
        valued,
        cfg,
    )
    consent = valued.groupby("segment").marketing_consent.sum().astype(int)
    response["consenting_customers"] = (
        response.segment.map(consent).fillna(0).astype(int)
    )
    if _imported_without_crm(settings):
        response = all_customers_response(valued)
    return valued, response, churn


def _imported_without_crm(settings: Settings) -> bool:
    from pipeline.importer import read_manifest

    manifest = read_manifest(settings.landing)
    return manifest is not None and not manifest["customers_from_crm"]


def all_customers_response(customers: pd.DataFrame) -> pd.DataFrame:
    """One segment, ``all``, of every consenting customer, with no measured lift.

    Without a CRM export (``fusionloop import`` derived the customers from
    order ids) there is nothing to segment on: markdowns target everyone who
    consented, and no one where no consent is known.
    """
    return pd.DataFrame(
        {
            "segment": ["all"],
            "response_lift": [1.0],
            "consenting_customers": [int(customers.marketing_consent.sum())],
        }
    )


def segment_churn(settings: Settings, activity, ds: str, cfg: SegmentConfig):
    """Churn per segment, measured on the segments of ``churned_after_days`` ago.

    The cohort's segments are recomputed from the warehouse as of that day
    (the activity mart's own query at the earlier date) rather than read from
    an older run's lake, so a run's figures do not depend on which runs came
    before it.
    """
    then = pd.Timestamp(ds) - pd.Timedelta(days=cfg.churned_after_days)
    then_ds = f"{then:%Y-%m-%d}"
    sql = (settings.sql_dir / "marts" / "mart_customer_activity.sql").read_text()
    with read_warehouse(settings) as con:
        earlier = con.execute(f"{sql} order by all", {"ds": then_ds}).df()
    cohort = score_customers(earlier, then_ds, cfg)
    return cohort_churn(cohort, activity, cfg)


def category_elasticities(settings: Settings) -> pd.DataFrame:
    """Fitted price elasticity per category, at the prices lines were sold at."""
    daily = query(settings, "mart_demand_daily")
    with read_warehouse(settings) as con:
        lines = con.execute(LINE_DISCOUNTS_SQL).df()
    category = query(settings, "stg_products")[["sku", "category"]]
    return fit_elasticities(
        realised_discounts(daily, lines).merge(category, on="sku"),
        ElasticityConfig(prior=settings.prior_elasticity),
    )


# The deepest discount a SKU x location's sold lines carried each day.
LINE_DISCOUNTS_SQL = """
select sku, location_id, order_date as sales_date,
    max(discount_pct) as line_discount_pct
from stg_orders
where status in ('completed', 'returned')
group by all
order by all
"""


def realised_discounts(daily: pd.DataFrame, lines: pd.DataFrame) -> pd.DataFrame:
    """``mart_demand_daily`` with the discount its order lines actually carried.

    The mart's ``promo_discount_pct`` comes from the promotion calendar, which
    still lists paused or shrunk promotions at their planned depth. On days a
    SKU x location sold, its lines' own discount replaces it; days without a
    sale keep the calendar's (no line says otherwise).
    """
    keys = ["sku", "location_id", "sales_date"]
    out = daily.merge(lines[[*keys, "line_discount_pct"]], on=keys, how="left")
    seen = (out.units_sold > 0) & out.line_discount_pct.notna()
    out["promo_discount_pct"] = out.line_discount_pct.where(
        seen, out.promo_discount_pct
    )
    return out.drop(columns="line_discount_pct")


def days_since_sale(settings: Settings, ds: str) -> pd.Series:
    """Per SKU: in-stock days since it last sold anywhere (ageing stock).

    A day every location was stocked out is not an unsold day: nothing could
    sell. A SKU that never sold counts every in-stock day of the history.
    """
    return unsold_days(query(settings, "mart_demand_daily"), ds)


def unsold_days(daily: pd.DataFrame, ds: str) -> pd.Series:
    """``days_since_sale`` over a mart_demand_daily frame, up to ``ds``."""
    daily = daily[daily.sales_date <= pd.Timestamp(ds)]
    day = daily.groupby(["sku", "sales_date"]).agg(
        sold=("units_sold", "sum"), stockout=("stockout", "all")
    )
    day = day.reset_index()
    last = day[day.sold > 0].groupby("sku").sales_date.max()
    after = day.sales_date > day.sku.map(last).fillna(pd.Timestamp.min)
    counted = day[after & ~day.stockout]
    return counted.groupby("sku").size().reindex(day.sku.unique(), fill_value=0)


def promo_config(settings: Settings) -> PromoConfig:
    return PromoConfig(
        overstock_days=settings.overstock_days,
        markdown_pct=settings.markdown_pct,
        markdown_days=settings.markdown_days,
        max_markdown_pct=settings.max_markdown_pct,
        margin_floor_pct=settings.margin_floor_pct,
        ageing_days=settings.ageing_days,
        budget_eur=settings.promo_budget_eur,
        target_segments=settings.target_segments,
        prior_elasticity=settings.prior_elasticity,
    )


def adjust_promotions(settings: Settings, ds: str) -> dict:
    """Propose markdowns, shrinks and pauses; write them and their evidence."""
    customers, response, churn = score_segments(settings, ds)
    elasticity = category_elasticities(settings)
    position = query(settings, "mart_inventory_position")
    forecast = pd.read_parquet(forecast_path(settings, ds))
    plan = pd.read_csv(settings.out_dir(ds) / "replenishment_plan.csv")
    promotions = query(settings, "stg_promotions")
    cfg = promo_config(settings)
    adjustments = propose(
        position,
        forecast,
        plan,
        promotions,
        response,
        ds,
        cfg,
        elasticity=elasticity.set_index("category").elasticity.to_dict(),
        ageing=days_since_sale(settings, ds),
    )
    prestock = prestock_requests(position, forecast, plan, promotions, ds, cfg)
    summary = segment_summary(customers, churn)
    out = settings.out_dir(ds)
    io.write_parquet(customers, segments_path(settings, ds))
    io.write_csv(summary.round(ROUNDING), out / "customer_segments.csv")
    io.write_csv(response.round(ROUNDING), out / "segment_response.csv")
    io.write_csv(elasticity.round(ROUNDING), out / "price_elasticity.csv")
    io.write_csv(prestock, out / "prestock_requests.csv")
    path = io.write_csv(adjustments, out / "promotion_adjustments.csv")
    return {
        "path": str(path),
        "markdowns": int((adjustments.action == "markdown").sum()),
        "pauses": int((adjustments.action == "pause").sum()),
        "shrinks": int((adjustments.action == "shrink").sum()),
        "prestock_requests": len(prestock),
        "expected_units": round(float(adjustments.expected_units.sum()), 1),
        "margin_effect_eur": round(float(adjustments.margin_effect_eur.sum()), 2),
        "segment_sizes": summary.set_index("segment").customers.astype(int).to_dict(),
    }
