"""Champion/challenger on the XS warehouse: promote only a model that does no worse."""

import shutil

import pandas as pd

from pipeline import forecasting, io, regions, registry
from tests.conftest import XS_END

EARLIER = "2026-01-30"


def _plant_champion(settings, config_changes: dict) -> None:
    """Make version EARLIER the champion, with its recipe's config changed."""
    shutil.copytree(settings.registry / XS_END, settings.registry / EARLIER)
    meta = registry.read_meta(settings, EARLIER)
    meta["config"] |= config_changes
    io.write_json(meta, settings.registry / EARLIER / "meta.json")
    registry.record_decision(settings, EARLIER, {"version": EARLIER})


def _champion_saved_without(settings, xs_ingested, field: str) -> None:
    """Train on XS, then plant that model as the champion EARLIER as if saved
    before ``field`` of its config existed."""
    shutil.copy(xs_ingested.warehouse, settings.warehouse)
    forecasting.train_demand_model(settings, XS_END)
    _plant_champion(settings, {})
    meta = registry.read_meta(settings, EARLIER)
    del meta["config"][field]
    io.write_json(meta, settings.registry / EARLIER / "meta.json")


def test_champion_challenger_decisions(xs_ingested, tmp_path):
    settings = xs_ingested.replace(fusion_home=tmp_path)
    shutil.copy(xs_ingested.warehouse, settings.warehouse)
    first = forecasting.train_demand_model(settings, XS_END)
    assert first["promoted"] and first["model_version"] == XS_END
    assert "no champion" in first["reason"]

    # A weak champion recipe (one tree) loses on the same holdout window.
    _plant_champion(settings, {"num_boost_round": 1})
    beaten = forecasting.train_demand_model(settings, XS_END)
    assert beaten["promoted"] and "beats the champion" in beaten["reason"]

    # A challenger starved of training rows loses: the champion keeps forecasting.
    shutil.rmtree(settings.registry / EARLIER)
    _plant_champion(settings, {"max_training_rows": settings.max_training_rows + 1})
    starved = settings.replace(max_training_rows=40, training_rows_per_series=0)
    kept = forecasting.train_demand_model(starved, XS_END)
    assert not kept["promoted"] and kept["model_version"] == EARLIER
    assert registry.decisions(starved)[XS_END]["reason"] == kept["reason"]
    assert (settings.registry / XS_END / "meta.json").exists()  # still registered


def test_a_champion_from_before_the_mean_booster_makes_way_for_one_with_it(
    xs_ingested, tmp_path
):
    # Saved before the mean booster existed: no mean_objective in its config.
    # Its P50/P90 recipe is the challenger's, so the challenger, which now also
    # carries the mean the plan protects from, takes over.
    settings = xs_ingested.replace(
        fusion_home=tmp_path, forecast_mean_objective="poisson"
    )
    _champion_saved_without(settings, xs_ingested, "mean_objective")
    (settings.registry / EARLIER / "model_mean.txt").unlink()
    result = forecasting.train_demand_model(settings, XS_END)
    assert result["promoted"] and result["model_version"] == XS_END
    assert (settings.registry / XS_END / "model_mean.txt").exists()
    region = regions.regions(settings)[0]
    out = forecasting.forecast_demand(settings, XS_END, XS_END, region)
    assert "mean_units" in pd.read_parquet(out["path"])


def test_a_champion_from_before_the_per_series_cap_makes_way(xs_ingested, tmp_path):
    # Saved before training_rows_per_series existed (it trained on the flat cap
    # alone). On XS both caps take the same sample: the same recipe, so the
    # challenger takes over instead of tying and losing to it every day.
    settings = xs_ingested.replace(fusion_home=tmp_path)
    _champion_saved_without(settings, xs_ingested, "training_rows_per_series")
    result = forecasting.train_demand_model(settings, XS_END)
    assert result["promoted"] and result["model_version"] == XS_END
    # A cap that takes another sample is another recipe, scored on its own:
    # a challenger starved to 40 rows still loses to it.
    starved = settings.replace(max_training_rows=40, training_rows_per_series=0)
    kept = forecasting.train_demand_model(starved, XS_END)
    assert not kept["promoted"]


def test_the_model_settings_reach_the_daily_models_config(tmp_path):
    from pipeline.settings import Settings

    plain = forecasting.model_config(Settings.load(fusion_home=tmp_path))
    assert not plain.scale_target and plain.mean_objective == ""
    tuned = forecasting.model_config(
        Settings.load(
            fusion_home=tmp_path,
            forecast_scale_target=1,
            forecast_mean_objective="poisson",
        )
    )
    assert tuned.scale_target and tuned.mean_objective == "poisson"
