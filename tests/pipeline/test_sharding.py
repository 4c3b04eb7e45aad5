"""A day run in region shards gives the plan of the same day run unsharded (S).

The day's forecast and the plan's first pass are written per region (the DAG
maps them over the regions; ``fusionloop run`` runs the same functions one
region after the other). Unsharded here means what the plan was before it was
mapped: one forecast of every store and one ``solve_by_location`` call.
"""

import dataclasses
import shutil

import pandas as pd
import pytest

from models import demand
from models.replenishment import solve_plan
from models.replenishment_blocks import solve_by_location
from pipeline import daily, io, market, regions
from pipeline.planning import day_plan_config
from pipeline.settings import Settings
from pipeline.warehouse import query

DS = "2026-01-31"


@pytest.fixture(scope="module")
def s_day(tmp_path_factory) -> Settings:
    """An S market (50 SKUs x 3 stores in 3 regions, 60 days) run for ``DS``."""
    home = tmp_path_factory.mktemp("s_sharded")
    settings = Settings.load(fusion_home=home, pii_key="sharding", train_window_days=30)
    market.generate(settings, size="S", days=60, seed=7, end=DS)
    daily.run_day(settings, DS)
    return settings


def _unsharded_forecast(settings: Settings) -> pd.DataFrame:
    """One forecast of every store, as the day's model makes it."""
    version = io.read_json(settings.out_dir(DS) / "run_report.json")["forecast"][
        "model_version"
    ]
    folder = settings.registry / version
    meta = io.read_json(folder / "meta.json")
    model = demand.DemandModel.load(folder, meta["categories"], meta["config"])
    rows = query(
        settings,
        "mart_demand_features",
        "where origin_date = cast($ds as date)",
        {"ds": DS},
    )
    out = rows[["sku", "location_id", "target_date", "horizon_day"]].join(
        demand.predict(model, rows)
    )
    out = out.rename(columns={"target_date": "forecast_date"})
    return out.sort_values(["sku", "location_id", "forecast_date"]).reset_index(
        drop=True
    )


def _copy(settings: Settings, tmp_path, **over) -> Settings:
    """The S day's home copied, so a test may change it."""
    shutil.copytree(settings.fusion_home, tmp_path / "home")
    return dataclasses.replace(settings, fusion_home=tmp_path / "home", **over)


def _plan_csv(settings: Settings) -> pd.DataFrame:
    return pd.read_csv(settings.out_dir(DS) / "replenishment_plan.csv", dtype=str)


def _as_csv(lines: pd.DataFrame, path) -> pd.DataFrame:
    io.write_csv(lines, path)
    return pd.read_csv(path, dtype=str)


def test_the_day_was_run_in_three_region_shards(s_day):
    assert regions.regions(s_day) == ["east", "north", "south"]
    stages = s_day.out_dir(DS) / "_stages"
    for region in ("east", "north", "south"):
        assert (stages / f"forecast_demand.{region}.json").exists()
        assert (stages / f"plan_region.{region}.json").exists()


def test_sharded_forecast_is_the_unsharded_forecast(s_day):
    sharded = regions.read_forecast(s_day, DS).drop(columns="model_version")
    pd.testing.assert_frame_equal(sharded, _unsharded_forecast(s_day))


def test_sharded_plan_is_the_unsharded_plan(s_day, tmp_path):
    position = query(s_day, "mart_inventory_position")
    forecast = regions.read_forecast(s_day, DS)
    cfg = day_plan_config(s_day, forecast)
    lines, report = solve_by_location(position, forecast, DS, cfg)
    assert "budget_split" not in report  # the default budget does not bind on S
    # Equal plans need every store's MILP solved within its gap: a block that
    # stops at its time limit (some do on M) keeps what the clock allowed.
    blocks = io.read_json(s_day.out_dir(DS) / "run_report.json")["plan"]["blocks"]
    assert {b["highs_status"] for b in blocks.values()} == {"Optimal"}
    plan = _plan_csv(s_day)
    assert len(plan) > 0
    pd.testing.assert_frame_equal(plan, _as_csv(lines, tmp_path / "whole.csv"))


def test_sharded_plan_costs_what_one_whole_milp_costs(s_day):
    """Per store, each with the whole budget, is exact when it does not bind:
    at MIP gap 0 the shards' plan costs what one MILP over all stores costs."""
    position = query(s_day, "mart_inventory_position")
    forecast = regions.read_forecast(s_day, DS)
    cfg = dataclasses.replace(day_plan_config(s_day, forecast), mip_gap=0.0)
    sharded, sharded_report = solve_by_location(position, forecast, DS, cfg)
    whole, whole_report = solve_plan(position, forecast, DS, cfg)
    # each report rounds its objective to the cent: three blocks, three roundings
    assert sharded_report["objective_eur"] == pytest.approx(
        whole_report["objective_eur"], abs=0.03
    )
    assert len(sharded) > 0 and len(whole) > 0


def test_a_budget_binding_across_regions_is_re_solved(s_day, tmp_path):
    tight = _copy(s_day, tmp_path, budget_eur=2_000.0)
    for region in regions.regions(tight):
        daily.plan_region(tight, DS, region)
    report = daily.plan_replenishment(tight, DS)
    assert (
        report["budget_split"]
        and "budget binds across locations" in (report["binding"][0])
    )
    position = query(tight, "mart_inventory_position")
    forecast = regions.read_forecast(tight, DS)
    lines, _ = solve_by_location(
        position, forecast, DS, day_plan_config(tight, forecast)
    )
    pd.testing.assert_frame_equal(
        _plan_csv(tight), _as_csv(lines, tmp_path / "whole.csv")
    )


def test_a_region_whose_plan_did_not_run_fails_the_join(s_day, tmp_path):
    copy = _copy(s_day, tmp_path)
    shutil.rmtree(copy.out_dir(DS) / "plan_blocks" / "region=north")
    with pytest.raises(RuntimeError, match=r"missing \['LOC00'\]"):
        daily.plan_replenishment(copy, DS)


def test_no_region_is_an_error_not_an_empty_map(s_day, tmp_path):
    import duckdb

    copy = _copy(s_day, tmp_path)
    with duckdb.connect(str(copy.warehouse)) as con:
        con.execute("delete from stg_locations")
    with pytest.raises(RuntimeError, match="erp_locations"):
        regions.regions(copy)
