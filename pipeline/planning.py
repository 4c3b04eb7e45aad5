"""Plan replenishment for the run date and write the ops teams' CSV."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote, unquote

import pandas as pd

from models.replenishment import PlanConfig
from models.replenishment_blocks import finish_blocks, first_pass
from models.replenishment_lines import PLAN_COLUMNS
from pipeline import io, regions
from pipeline.importer import plan_flag, read_manifest
from pipeline.settings import Settings
from pipeline.warehouse import query


def plan_region(settings: Settings, ds: str, region: str) -> dict:
    """The plan's first pass for ``region``'s locations, each with the whole
    budget (``models/replenishment_blocks.py``), kept in
    ``out/<ds>/plan_blocks/region=<region>/`` for ``plan_replenishment``."""
    if _skip(read_manifest(settings.landing)):
        return {"region": region, "skipped": True}
    position = query(settings, "mart_inventory_position")
    forecast = pd.read_parquet(regions.forecast_path(settings, ds, region))
    mine = regions.locations_of(settings, region)
    cfg = day_plan_config(settings, forecast)
    first = first_pass(position, forecast, ds, cfg, locations=mine)

    # built aside, swapped in whole
    folder = io.replace_dir(
        lambda folder: write_blocks(folder, first), _blocks_dir(settings, ds, region)
    )
    return {
        "region": region,
        "path": str(folder),
        "locations": list(first),
        "order_lines": int(sum(len(lines) for lines, _ in first.values())),
        "variables": int(sum(r["variables"] for _, r in first.values())),
    }


def plan_replenishment(settings: Settings, ds: str) -> dict:
    """Join the regions' first passes into the plan (solving the second pass
    where the budget binds across locations); write
    ``out/<ds>/replenishment_plan.csv``; return its summary."""
    manifest = read_manifest(settings.landing)
    if _skip(manifest):
        return _skipped_plan(settings, ds, manifest)
    position = query(settings, "mart_inventory_position")
    forecast = regions.read_forecast(settings, ds)
    cfg = day_plan_config(settings, forecast)
    first = _joined_blocks(settings, ds, set(position.location_id))
    lines, report = finish_blocks(first, position, forecast, ds, cfg)
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


def _skip(manifest: dict | None) -> bool:
    """Whether the import's mapping asks to skip a plan resting on defaulted data."""
    return bool(
        manifest and manifest["plan"] == "skip" and manifest["plan_assumptions"]
    )


def _blocks_dir(settings: Settings, ds: str, region: str) -> Path:
    # beside the stage records, not in the lake: the solve reports hold wall times
    return settings.out_dir(ds) / "plan_blocks" / f"region={region}"


def _plain(value):
    """JSON for numpy scalars in a solve report."""
    return value.item() if hasattr(value, "item") else str(value)


def _joined_blocks(settings: Settings, ds: str, stores: set) -> dict:
    """Every region's first pass, one block per store with a stock position.

    A region whose ``plan_region`` did not run for ``ds`` (or ran before its
    stores changed) would drop stores from the plan in silence: fail instead.
    """
    first: dict = {}
    for region in regions.regions(settings):
        folder = _blocks_dir(settings, ds, region)
        blocks = read_blocks(folder)
        twice = set(first) & set(blocks)
        if twice:
            raise RuntimeError(f"{folder}: stores {sorted(twice)} planned twice")
        first |= blocks
    if set(first) != stores:
        missing, extra = sorted(stores - set(first)), sorted(set(first) - stores)
        raise RuntimeError(
            f"{_blocks_dir(settings, ds, '*')}: the regions' plans do not cover "
            f"the stores with stock today (missing {missing}, not stocked "
            f"{extra}); run plan_region for every region of {ds} again"
        )
    return first


def write_blocks(folder: Path, first: dict) -> None:
    """Each store's first-pass lines and solve report, as ``read_blocks`` reads them."""
    for loc, (lines, report) in first.items():
        name = block_name(loc)
        io.write_parquet(lines, folder / f"{name}.parquet")
        io.write_text(json.dumps(report, default=_plain), folder / f"{name}.json")


def block_name(location_id: str) -> str:
    """A store's block file name (no suffix): ``store=`` and its id,
    percent-encoded where a character is not safe in a file name (an
    imported id may hold "/", be ".." or be empty)."""
    return "store=" + quote(str(location_id), safe="-_.")


def read_blocks(folder: Path) -> dict:
    """{location: (lines, report)} as ``plan_region`` saved them."""
    return {
        unquote(path.stem.removeprefix("store=")): (
            pd.read_parquet(path),
            json.loads(path.with_suffix(".json").read_text()),
        )
        for path in sorted(folder.glob("*.parquet"))
    }


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
        tail_cover_days=settings.plan_tail_cover_days,
        tail_value_share=settings.plan_tail_value_share,
        min_shortage_eur=settings.plan_min_shortage_eur,
        max_service_level=settings.plan_max_service_level,
        review_days=settings.plan_review_days,
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
