"""Adjust promotions for the run date and write marketing's CSV."""

from __future__ import annotations

import pandas as pd

from models.promotions import PromoConfig, propose
from pipeline import io
from pipeline.planning import forecast_path
from pipeline.settings import Settings
from pipeline.warehouse import query


def adjust_promotions(settings: Settings, ds: str) -> dict:
    """Propose markdowns and pauses; write ``out/<ds>/promotion_adjustments.csv``."""
    plan = pd.read_csv(settings.out_dir(ds) / "replenishment_plan.csv")
    adjustments = propose(
        position=query(settings, "mart_inventory_position"),
        forecast=pd.read_parquet(forecast_path(settings, ds)),
        plan=plan,
        promotions=query(settings, "stg_promotions"),
        response=query(settings, "mart_segment_response"),
        ds=ds,
        cfg=PromoConfig(
            overstock_days=settings.overstock_days,
            markdown_pct=settings.markdown_pct,
            markdown_days=settings.markdown_days,
        ),
    )
    path = io.write_csv(adjustments, settings.out_dir(ds) / "promotion_adjustments.csv")
    return {
        "path": str(path),
        "markdowns": int((adjustments.action == "markdown").sum()),
        "pauses": int((adjustments.action == "pause").sum()),
    }
