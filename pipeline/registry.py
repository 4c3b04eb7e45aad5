"""Champion/challenger model registry under ``<FUSION_HOME>/registry/``.

Each trained model lives in ``registry/<version>/`` with ``meta.json`` (its
config, features, data window and holdout metrics). ``registry/decisions.json``
records, per run date, which version forecasts and why. The champion for run
date ``ds`` is the version chosen on the latest earlier run date, so re-running
a day repeats its decision instead of competing against itself.
"""

from __future__ import annotations

from pipeline import io
from pipeline.settings import Settings


def _decisions_path(settings: Settings):
    return settings.registry / "decisions.json"


def decisions(settings: Settings) -> dict[str, dict]:
    """Every run date's decision: ``{ds: {"version", "promoted", "reason"}}``."""
    path = _decisions_path(settings)
    return io.read_json(path) if path.exists() else {}


def champion_before(settings: Settings, ds: str) -> str | None:
    """The version that was forecasting before run date ``ds`` (None at first)."""
    earlier = {d: v for d, v in decisions(settings).items() if d < ds}
    return earlier[max(earlier)]["version"] if earlier else None


def read_meta(settings: Settings, version: str) -> dict:
    return io.read_json(settings.registry / version / "meta.json")


def record_decision(settings: Settings, ds: str, decision: dict) -> None:
    """Store run date ``ds``'s decision (replacing a previous one for ``ds``)."""
    everything = decisions(settings) | {ds: decision}
    io.write_json(dict(sorted(everything.items())), _decisions_path(settings))


def decide(challenger_wape: float, champion_wape: float | None, same_recipe: bool):
    """``(promote, reason)``: the challenger wins only by doing no worse.

    Both WAPEs come from the same holdout window and the same training cutoff.
    A tie only happens for the same recipe; the challenger then wins because it
    has seen more recent data.
    """
    if champion_wape is None:
        return True, "no champion yet: the first model becomes champion"
    verdict = f"challenger WAPE {challenger_wape:.4f} vs champion {champion_wape:.4f}"
    if challenger_wape < champion_wape:
        return True, f"{verdict}: challenger beats the champion, promoted"
    if challenger_wape == champion_wape and same_recipe:
        return True, f"{verdict}: same recipe, refreshed on newer data"
    return False, f"{verdict}: champion kept, challenger is not better"
