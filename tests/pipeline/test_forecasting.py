"""Champion/challenger on the XS warehouse: promote only a model that does no worse."""

import shutil

from pipeline import forecasting, io, registry
from tests.conftest import XS_END

EARLIER = "2026-01-30"


def _plant_champion(settings, config_changes: dict) -> None:
    """Make version EARLIER the champion, with its recipe's config changed."""
    shutil.copytree(settings.registry / XS_END, settings.registry / EARLIER)
    meta = registry.read_meta(settings, EARLIER)
    meta["config"] |= config_changes
    io.write_json(meta, settings.registry / EARLIER / "meta.json")
    registry.record_decision(settings, EARLIER, {"version": EARLIER})


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
    starved = settings.replace(max_training_rows=40)
    kept = forecasting.train_demand_model(starved, XS_END)
    assert not kept["promoted"] and kept["model_version"] == EARLIER
    assert registry.decisions(starved)[XS_END]["reason"] == kept["reason"]
    assert (settings.registry / XS_END / "meta.json").exists()  # still registered
