"""Plan replenishment for the run date and write the ops teams' CSV."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from models.replenishment import PlanConfig
from models.replenishment_blocks import solve_by_location
from models.replenishment_lines import PLAN_COLUMNS
from pipeline import io
from pipeline.importer import plan_flag, read_manifest
from pipeline.settings import Settings
from pipeline.warehouse import query


def forecast_path(settings: Settings, ds: str):
    return settings.lake / "forecast" / f"ds={ds}" / "part-0.parquet"


def plan_replenishment(settings: Settings, ds: str) -> dict:
    """Solve the plan; write ``out/<ds>/replenishment_plan.csv``; return its summary."""
    position = query(settings, "mart_inventory_position")
    forecast = pd.read_parquet(forecast_path(settings, ds))
    cfg = day_plan_config(settings, forecast)
    manifest = read_manifest(settings.landing)
    if manifest and manifest["plan"] == "skip" and manifest["plan_assumptions"]:
        return _skipped_plan(settings, ds, manifest)
    lines, report = solve_by_location(position, forecast, ds, cfg)
    flag = plan_flag(manifest)
    if flag:  # imported exports lacked inventory or costs: say so on every line
        lines["reason"] = [
            f"{r}; {flag}" if r else flag for r in lines.reason.fillna("")
        ]
        report["assumed"] = manifest["plan_assumptions"]
    path = io.write_csv(lines, settings.out_dir(ds) / "replenishment_plan.csv")
    report.update(
        path=str(path), budget_eur=cfg.budget_eur, forecast_bias=cfg.forecast_bias
    )
    return report


def _skipped_plan(settings: Settings, ds: str, manifest: dict) -> dict:
    """No plan where the mapping asks to skip one resting on defaulted data."""
    path = io.write_csv(
        pd.DataFrame(columns=PLAN_COLUMNS),
        settings.out_dir(ds) / "replenishment_plan.csv",
    )
    reason = "skipped: the import lacked " + "; ".join(manifest["plan_assumptions"])
    return {
        "path": str(path),
        "status": reason,
        "solver": "none",
        "order_lines": 0,
        "order_lines_next_day": 0,
        "order_cost_eur": 0.0,
        "budget_eur": settings.budget_eur,
        "variables": 0,
        "solve_s": 0.0,
        "binding": [],
        "assumed": manifest["plan_assumptions"],
    }


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
        integer_order_days=settings.plan_integer_order_days,
    )


def day_plan_config(settings: Settings, forecast: pd.DataFrame) -> PlanConfig:
    """The run's plan settings with the bias of the model that made ``forecast``."""
    return replace(
        plan_config(settings), forecast_bias=forecast_bias(settings, forecast)
    )


def forecast_bias(settings: Settings, forecast: pd.DataFrame) -> float:
    """The holdout bias of the forecast's model (``sum(P50 - actual) / sum actual``,
    from its registry card), or 0 where correction is off or nothing is known."""
    versions = forecast.get("model_version", pd.Series(dtype=str)).unique()
    if not settings.plan_forecast_bias_correction or len(versions) != 1:
        return 0.0
    card = settings.registry / str(versions[0]) / "meta.json"
    if not card.exists():
        return 0.0
    bias = io.read_json(card)["metrics"]["lightgbm"].get("bias")
    return round(float(bias), 6) if bias is not None else 0.0
