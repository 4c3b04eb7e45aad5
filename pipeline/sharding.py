"""Replenishment planned per region: the shards a scaled-out run maps over.

The plan's constraints are per SKU x location (stock balance, MOQ, case
packs) and per location (capacity); only the purchasing budget couples
locations. So each region's plan can be solved apart with the whole budget:
when the regions' orders together stay within the budget in every budget
period, their union is feasible for the whole problem and optimal for a
relaxation of it, hence optimal for the whole problem. When they do not, the
budget binds across regions and the plan is solved whole, and says so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.replenishment import PlanConfig, solve_plan
from models.replenishment_blocks import periods_over_budget

ORDER = ["location_id", "sku", "order_date"]


def plan_by_region(
    position: pd.DataFrame,
    forecast: pd.DataFrame,
    regions: pd.DataFrame,
    ds: str,
    cfg: PlanConfig,
) -> tuple[pd.DataFrame, dict]:
    """Order lines and a report, solved per region where that gives the same plan.

    ``regions``: location_id -> region. The report lists each shard's solve
    report under ``shards`` and says in ``sharded`` whether the union was kept.
    """
    region_of = regions.set_index("location_id").region
    shards, reports = [], {}
    for region in sorted(region_of.unique()):
        locations = region_of.index[region_of == region]
        lines, report = solve_plan(
            position[position.location_id.isin(locations)],
            forecast[forecast.location_id.isin(locations)],
            ds,
            cfg,
        )
        shards.append(lines)
        reports[region] = report
    union = pd.concat(shards, ignore_index=True)
    over = periods_over_budget(union, ds, cfg)
    if not over:
        return union, {"sharded": True, "shards": reports}
    lines, report = solve_plan(position, forecast, ds, cfg)
    reason = f"budget binds across regions in period(s) {over}: solved whole"
    return lines, report | {"sharded": False, "reason": reason, "shards": reports}


def same_plan(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Whether two plans order the same units of the same SKUs, where and when."""
    cols = [*ORDER, "order_qty_units"]
    left = a[cols].sort_values(ORDER).reset_index(drop=True)
    right = b[cols].sort_values(ORDER).reset_index(drop=True)
    return left.shape == right.shape and bool(
        np.all(left.to_numpy() == right.to_numpy())
    )
