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
    response_from_daily,
    score_customers,
    segment_summary,
)
from pipeline import io
from pipeline.regions import read_forecast
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
    response = response_from_daily(
        segment_daily_units(settings, valued),
        query(settings, "mart_promotion_days"),
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


def segment_daily_units(settings: Settings, customers: pd.DataFrame):
    """``models.segments.segment_daily_units`` run in DuckDB: the customer
    rows of ``mart_segment_promo_units`` never reach pandas."""
    with read_warehouse(settings) as con:
        con.register("customer_segments", customers[["customer_id", "segment"]])
        return con.execute(_sql(settings, "segment_daily_units")).df()


def category_elasticities(settings: Settings) -> pd.DataFrame:
    """Fitted price elasticity per category, at the prices lines were sold at."""
    with read_warehouse(settings) as con:
        sku_days = con.execute(_sql(settings, "elasticity_days")).df()
    return fit_elasticities(sku_days, ElasticityConfig(prior=settings.prior_elasticity))


def days_since_sale(settings: Settings, ds: str) -> pd.Series:
    """Per SKU: in-stock days since it last sold anywhere (ageing stock);
    see ``sql/promotions/unsold_days.sql``."""
    with read_warehouse(settings) as con:
        days = con.execute(_sql(settings, "unsold_days"), {"ds": ds}).df()
    return days.set_index("sku").unsold_days


def _sql(settings: Settings, name: str) -> str:
    return (settings.sql_dir / "promotions" / f"{name}.sql").read_text()


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
        discount_per_holding_eur=settings.markdown_discount_per_holding_eur,
    )


def adjust_promotions(settings: Settings, ds: str) -> dict:
    """Propose markdowns, shrinks and pauses; write them and their evidence."""
    customers, response, churn = score_segments(settings, ds)
    elasticity = category_elasticities(settings)
    position = query(settings, "mart_inventory_position")
    forecast = read_forecast(settings, ds)
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
