"""Plan replenishment for the run date and write the ops teams' CSV."""

from __future__ import annotations

import pandas as pd

from models.replenishment import PlanConfig, solve_plan
from pipeline import io
from pipeline.settings import Settings
from pipeline.warehouse import query


def forecast_path(settings: Settings, ds: str):
    return settings.lake / "forecast" / f"ds={ds}" / "part-0.parquet"


def plan_replenishment(settings: Settings, ds: str) -> dict:
    """Solve the plan; write ``out/<ds>/replenishment_plan.csv``; return its summary."""
    position = query(settings, "mart_inventory_position")
    forecast = pd.read_parquet(forecast_path(settings, ds))
    cfg = plan_config(settings)
    lines, report = solve_plan(position, forecast, ds, cfg)
    path = io.write_csv(lines, settings.out_dir(ds) / "replenishment_plan.csv")
    report.update(path=str(path), budget_eur=cfg.budget_eur)
    return report


def plan_config(settings: Settings) -> PlanConfig:
    """The optimiser's settings for a run: horizon, service, budget, solver limits."""
    return PlanConfig(
        horizon_days=settings.horizon_days,
        service_level=settings.service_level,
        budget_eur=settings.budget_eur,
        budget_period_days=settings.budget_period_days,
        order_cost_eur=settings.order_cost_eur,
        time_limit_s=settings.solver_time_limit_s,
        mip_gap=settings.solver_mip_gap,
    )
