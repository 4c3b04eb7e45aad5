"""The plan's settings for a day: the forecast's holdout bias read from its model."""

import pandas as pd
import pytest

from pipeline import io
from pipeline.planning import (
    day_plan_config,
    forecast_bias,
    plan_config,
    read_blocks,
    write_blocks,
)
from pipeline.settings import Settings


def _card(settings: Settings, version: str, bias: float) -> None:
    metrics = {"lightgbm": {"wape": 0.4, "bias": bias, "coverage_p90": 0.9}}
    io.write_json({"metrics": metrics}, settings.registry / version / "meta.json")


def _forecast(version: str) -> pd.DataFrame:
    return pd.DataFrame(
        {"sku": ["A", "A"], "horizon_day": [1, 2], "model_version": version}
    )


@pytest.fixture
def settings(tmp_path) -> Settings:
    s = Settings.load(fusion_home=tmp_path, plan_forecast_bias_correction=1)
    _card(s, "2026-01-24", -0.08)
    return s


def test_the_plan_takes_the_bias_of_the_model_that_forecast(settings):
    _card(settings, "2026-01-31", 0.3)  # a newer model that did not forecast
    assert forecast_bias(settings, _forecast("2026-01-24")) == -0.08
    assert day_plan_config(settings, _forecast("2026-01-24")).forecast_bias == -0.08


def test_no_correction_when_off_as_by_default_or_nothing_is_known(settings, tmp_path):
    off = Settings.load(fusion_home=tmp_path)
    assert forecast_bias(off, _forecast("2026-01-24")) == 0.0
    assert forecast_bias(settings, _forecast("2025-12-01")) == 0.0  # no card
    assert (
        forecast_bias(settings, _forecast("2026-01-24").drop(columns="model_version"))
        == 0.0
    )


def test_the_service_cap_and_review_days_are_settings(monkeypatch, tmp_path):
    monkeypatch.setenv("FUSION_PLAN_MAX_SERVICE_LEVEL", "0.95")
    monkeypatch.setenv("FUSION_PLAN_REVIEW_DAYS", "3")
    cfg = plan_config(Settings.load(fusion_home=tmp_path))
    assert (cfg.max_service_level, cfg.review_days) == (0.95, 3)


def test_plan_blocks_keep_any_store_id_inside_their_folder(tmp_path):
    # Store ids come from the retailer's extracts: "/" made a sub-folder the
    # join never read ("missing stores"), ".." a file name of dots, "" none.
    ids = ["LOC07", "LOC/01", "..", "", "a b", "Zürich.1", ".hidden"]
    first = {
        loc: (pd.DataFrame({"sku": [f"S{k}"], "order_qty_units": [k]}), {"k": k})
        for k, loc in enumerate(ids)
    }
    folder = tmp_path / "region=north"
    write_blocks(folder, first)
    assert all(p.parent == folder for p in tmp_path.rglob("*.parquet"))
    back = read_blocks(folder)
    assert sorted(back) == sorted(ids)
    for k, loc in enumerate(ids):
        assert back[loc][1] == {"k": k}
        assert back[loc][0].order_qty_units.tolist() == [k]
