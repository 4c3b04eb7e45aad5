"""``out/<ds>/kpi_report.html``: the managers' one-file view of the loop.

Built from the warehouse and the day's outputs with the Jinja2 template
``pipeline/templates/kpi_report.html.j2``: forecast vs actual, inventory
projection per location, fill rate and turns, promotion ROI per channel and
segment, segment mix and CLV, today's adjustments, and the KPI table ending in
PScore. Charts are inline SVG and styles inline: no CDN, no network.
"""

from __future__ import annotations

from pathlib import Path

import jinja2
import pandas as pd

from pipeline import io, kpi, kpi_plots
from pipeline.regions import read_forecast
from pipeline.settings import Settings
from pipeline.warehouse import query

_TEMPLATES = Path(__file__).resolve().parent / "templates"
HISTORY_DAYS = 56  # days of actuals drawn before the forecast
ORDER_DAYS = 60  # kpi.measure's 30-day window and the one before it


def build_kpi_report(settings: Settings, ds: str) -> dict:
    """Write the report for ``ds``; returns its path, PScore and flagged KPIs."""
    end = pd.Timestamp(ds)
    # Only the days the report reads: on M the full history would not fit.
    orders = query(
        settings,
        "stg_orders",
        "where status = 'completed' and order_date > $since",
        {"since": end - pd.Timedelta(days=ORDER_DAYS)},
    )
    daily = query(
        settings,
        "mart_demand_daily",
        "where sales_date > $since",
        {"since": end - pd.Timedelta(days=HISTORY_DAYS)},
    ).merge(query(settings, "stg_products")[["sku", "unit_cost_eur"]], on="sku")
    roi = query(settings, "mart_promotion_roi")
    actuals = kpi.measure(orders, len(query(settings, "stg_customers")), daily, roi, ds)
    table, pscore = kpi.kpi_table(
        actuals,
        kpi.normalised_weights(settings.kpi_weights),
        kpi.parse_mapping(settings.kpi_targets, "kpi_targets"),
    )
    out = settings.out_dir(ds)
    adjustments = pd.read_csv(out / "promotion_adjustments.csv")
    segments = pd.read_csv(out / "customer_segments.csv")
    operations = location_operations(settings, daily, end)
    html = _template().render(
        ds=ds,
        pscore=pscore,
        kpis=table.to_dict("records"),
        charts=_charts(settings, ds, daily, roi, segments, operations),
        operations=operations.reset_index().to_dict("records"),
        roi=roi_table(roi).reset_index().to_dict("records"),
        segments=segments.fillna(0).to_dict("records"),
        adjustments=adjustments.to_dict("records"),
        effect={
            "units": float(adjustments.expected_units.sum()),
            "margin_eur": float(adjustments.margin_effect_eur.sum()),
        },
    )
    path = io.write_text(html, out / "kpi_report.html")
    flagged = table.loc[table.status != "ok", "kpi"].tolist()
    return {"path": str(path), "pscore": pscore, "flagged_kpis": flagged}


def location_operations(settings: Settings, daily, end, days: int = 30):
    """Per location over ``days``: fill rate and annualised inventory turns.

    Turns = cost of goods sold a year / average stock value at cost.
    """
    since = end - pd.Timedelta(days=days)
    recent = daily[daily.sales_date > since]
    stock = query(
        settings, "stg_inventory", "where snapshot_date > $since", {"since": since}
    ).merge(daily[["sku", "unit_cost_eur"]].drop_duplicates("sku"), on="sku")
    stock_value = (
        (stock.on_hand_units * stock.unit_cost_eur)
        .groupby([stock.location_id, stock.snapshot_date])
        .sum()
        .groupby("location_id")
        .mean()
    )
    cogs = (recent.units_sold * recent.unit_cost_eur).groupby(recent.location_id).sum()
    return pd.DataFrame(
        {
            "fill_rate": 1 - recent.groupby("location_id").stockout.mean(),
            "turns_per_year": cogs * 365 / days / stock_value,
            "stock_value_eur": stock_value,
        }
    ).rename_axis("location_id")


def roi_table(roi: pd.DataFrame) -> pd.DataFrame:
    """ROI per channel x targeted segment, with the money behind it."""
    grouped = roi.groupby(["channel", "target_segment"])[
        ["units", "revenue_eur", "discount_eur", "margin_eur"]
    ].sum()
    grouped["roi"] = kpi.promotion_roi(grouped.margin_eur, grouped.discount_eur)
    return grouped


def inventory_projection(position, forecast, plan, ds: str) -> pd.DataFrame:
    """Units on hand per location and day: stock + arrivals - cumulative P50."""
    days = pd.date_range(pd.Timestamp(ds) + pd.Timedelta(days=1), periods=14)
    demand = forecast.groupby(["forecast_date", "location_id"]).p50_units.sum()
    demand = demand.unstack().reindex(days).fillna(0).cumsum()
    arrivals = pd.concat(
        [
            position[
                ["location_id", "on_order_arrival_date", "on_order_units"]
            ].set_axis(["location_id", "date", "units"], axis=1),
            plan[["location_id", "arrival_date", "order_qty_units"]].set_axis(
                ["location_id", "date", "units"], axis=1
            ),
        ]
    )
    arrivals["date"] = pd.to_datetime(arrivals.date)
    arrived = arrivals.groupby(["date", "location_id"]).units.sum().unstack()
    arrived = arrived.reindex(days.union(arrived.index)).fillna(0).cumsum()
    on_hand = position.groupby("location_id").on_hand_units.sum()
    return (on_hand + arrived.reindex(days).ffill().fillna(0) - demand).clip(lower=0)


def _charts(settings, ds, daily, roi, segments, operations) -> dict[str, str]:
    end = pd.Timestamp(ds)
    forecast = read_forecast(settings, ds)
    plan = pd.read_csv(settings.out_dir(ds) / "replenishment_plan.csv")
    position = query(settings, "mart_inventory_position")
    actual = daily[daily.sales_date > end - pd.Timedelta(days=HISTORY_DAYS)]
    ahead = forecast.groupby("forecast_date")[["p50_units", "p90_units"]].sum()
    by_segment = segments.set_index("segment")
    return {
        "forecast": kpi_plots.forecast_vs_actual(
            actual.groupby("sales_date").units_sold.sum(),
            ahead.reset_index(),
            past_day_ahead(settings, ds, end - pd.Timedelta(days=HISTORY_DAYS)),
        ),
        "inventory": kpi_plots.inventory_projection(
            inventory_projection(position, forecast, plan, ds)
        ),
        "fill_rate": kpi_plots.bars(operations.fill_rate, "fill rate", "{:.1%}"),
        "turns": kpi_plots.bars(operations.turns_per_year, "turns / year", "{:.1f}"),
        "roi": kpi_plots.grouped_bars(
            roi_table(roi).roi.unstack("target_segment"), "promotion ROI"
        ),
        "segment_mix": kpi_plots.bars(by_segment.customers, "customers", "{:,.0f}"),
        "segment_clv": kpi_plots.bars(by_segment.clv_eur, "CLV (EUR)", "{:,.0f}"),
    }


def past_day_ahead(settings: Settings, ds: str, since) -> pd.Series:
    """Total P50 the forecasts of earlier run dates made for their next day."""
    points = {}
    for folder in sorted((settings.lake / "forecast").glob("ds=*")):
        origin = pd.Timestamp(folder.name.removeprefix("ds="))
        # one partition per region; a forecast written before the regions
        # were mapped is one file
        paths = sorted(folder.glob("region=*/part-0.parquet")) or sorted(
            folder.glob("part-0.parquet")
        )
        if paths and since <= origin < pd.Timestamp(ds):
            cols = ["sku", "location_id", "horizon_day", "p50_units"]
            f = pd.concat(pd.read_parquet(p, columns=cols) for p in paths)
            # a store that moved region and was forecast again is counted once
            f = f[f.horizon_day == 1].drop_duplicates(["sku", "location_id"])
            points[origin + pd.Timedelta(days=1)] = f.p50_units.sum()
    return pd.Series(points, dtype=float)


def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("kpi_report.html.j2")
