"""A plan solved per region equals the plan solved whole (XS: two regions)."""

import dataclasses

import pytest

from models.replenishment import solve_plan
from pipeline.planning import plan_config
from pipeline.sharding import plan_by_region, same_plan
from pipeline.warehouse import query
from tests.conftest import XS_END


@pytest.fixture(scope="module")
def inputs(xs_ingested):
    """Position, a forecast from the series' recent means, and the regions."""
    position = query(xs_ingested, "mart_inventory_position")
    rows = query(
        xs_ingested,
        "mart_demand_features",
        "where origin_date = cast($ds as date)",
        {"ds": XS_END},
    )
    forecast = rows[["sku", "location_id", "horizon_day"]].assign(
        p50_units=rows.mean_28d_units, p90_units=1.5 * rows.mean_28d_units + 1
    )
    regions = query(xs_ingested, "stg_locations")[["location_id", "region"]]
    assert regions.region.nunique() == 2
    cfg = dataclasses.replace(plan_config(xs_ingested), mip_gap=0.0)
    return position, forecast, regions, cfg


def test_per_region_plans_together_are_the_whole_plan(inputs):
    position, forecast, regions, cfg = inputs
    whole, _ = solve_plan(position, forecast, XS_END, cfg)
    sharded, report = plan_by_region(position, forecast, regions, XS_END, cfg)
    assert report["sharded"] and sorted(report["shards"]) == ["north", "south"]
    assert len(whole) > 0 and same_plan(sharded, whole)


def test_a_budget_binding_across_regions_is_solved_whole(inputs):
    position, forecast, regions, cfg = inputs
    whole, _ = solve_plan(position, forecast, XS_END, cfg)
    tight = dataclasses.replace(cfg, budget_eur=0.6 * whole.order_cost_eur.sum())
    lines, report = plan_by_region(position, forecast, regions, XS_END, tight)
    assert not report["sharded"] and "budget binds" in report["reason"]
    assert same_plan(lines, solve_plan(position, forecast, XS_END, tight)[0])
