"""The rolling-origin backtest on the XS market: same rows for every model."""

from functools import partial

import pandas as pd
import pytest

from models import demand
from pipeline import backtest, backtest_peers, registry
from tests.conftest import XS_END


def test_origins_abut_and_the_last_window_ends_on_the_last_day():
    cuts = backtest.plan_origins("2026-01-31", origins=3, horizon=7)
    assert cuts == ["2026-01-10", "2026-01-17", "2026-01-24"]


@pytest.fixture(scope="module")
def results(xs_settings, monkeypatch_module):
    monkeypatch_module.setattr(
        backtest_peers, "available", lambda: dict.fromkeys(backtest_peers.PEERS, False)
    )
    config = demand.DemandModelConfig(num_boost_round=40, min_data_in_leaf=20)
    return backtest.run_backtest(
        xs_settings, "XS", origins=2, horizon=7, origin_step_days=3, base=config
    )


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def test_every_model_is_scored_on_the_same_rows(results):
    models = results["models"]
    ok = {k: v for k, v in models.items() if v["status"] == "ok"}
    assert set(ok) == {"fusionloop", "seasonal_naive", "moving_average", "oracle"}
    assert len({m["rows"] for m in ok.values()}) == 1 and ok["oracle"]["rows"] > 0
    assert results["origins"][-1] == "2026-01-24"
    assert pd.Timestamp(results["origins"][-1]) + pd.Timedelta(days=7) == pd.Timestamp(
        XS_END
    )


def test_missing_peers_are_reported_not_fatal(results):
    for peer in backtest_peers.PEERS:
        assert results["models"][peer]["status"].startswith("not installed")
    table = backtest.format_results(results)
    assert "| mlforecast | not installed" in table


def test_quantile_models_report_p90_and_the_oracle_is_calibrated(results):
    fl, oracle = results["models"]["fusionloop"], results["models"]["oracle"]
    assert 0 <= fl["coverage_p90"] <= 1 and fl["pinball_p90"] > 0
    assert "coverage_p90" not in results["models"]["seasonal_naive"]
    assert oracle["coverage_p90"] >= 0.85  # the true 0.9 quantile, few rows


def test_wrong_market_size_is_a_clear_error(xs_settings):
    with pytest.raises(ValueError, match="size XS, not M"):
        backtest.run_backtest(xs_settings, "M")


def test_champion_kept_unless_the_challenger_does_no_worse():
    assert registry.decide(0.5, None, False)[0]
    assert registry.decide(0.4, 0.5, False)[0]
    assert not registry.decide(0.6, 0.5, False)[0]
    assert registry.decide(0.5, 0.5, True)[0]
    promote, reason = registry.decide(0.5, 0.5, False)
    assert not promote and "champion kept" in reason


def test_recursive_variant_is_scored_on_the_direct_rows(xs_settings, monkeypatch):
    monkeypatch.setattr(
        backtest_peers, "available", lambda: dict.fromkeys(backtest_peers.PEERS, False)
    )
    config = demand.DemandModelConfig(num_boost_round=20, min_data_in_leaf=20)
    out = backtest.run_backtest(
        xs_settings, "XS", origins=1, horizon=7, base=config, recursive_too=True
    )
    direct, rec = out["models"]["fusionloop"], out["models"]["fusionloop_recursive"]
    assert rec["status"] == "ok" and rec["rows"] == direct["rows"] > 0
    assert rec["wape"] != direct["wape"] and 0 <= rec["coverage_p90"] <= 1


def test_metrics_pool_every_origin_rows_by_hand():
    def origin(actual, p50, p90, scale):
        test = pd.DataFrame({"target_units": actual, "mase_scale": scale})
        pred = pd.DataFrame({"p50_units": p50, "p90_units": p90})
        names = ["fusionloop", "seasonal_naive", "moving_average", "oracle"]
        return test, {name: (pred, 1.5, 0.25) for name in names}

    scored = [
        origin([4, 0], [2, 1], [5, 0], [2.0, 1.0]),
        origin([6], [9], [5], [float("nan")]),
    ]
    out = backtest._metrics(scored, ["fusionloop"], dict.fromkeys(backtest_peers.PEERS))
    fl = out["fusionloop"]
    close = partial(pytest.approx, abs=5e-5)  # metrics are rounded to 4 places
    # |4-2| + |0-1| + |6-9| = 6 over 10 units; forecasts 12 vs actuals 10
    assert fl["wape"] == close(0.6) and fl["bias"] == close(0.2)
    assert fl["mase"] == close((2 / 2 + 1 / 1) / 2)  # no scale: left out
    assert fl["coverage_p90"] == close(2 / 3)
    assert fl["pinball_p90"] == close((0.1 * 1 + 0 + 0.9 * 1) / 3)
    assert fl["fit_s"] == 3.0 and fl["predict_s"] == 0.5 and fl["rows"] == 3
    assert out["mlforecast"]["status"].startswith("skipped")


def test_two_backtests_give_identical_forecast_metrics(xs_settings, results):
    """Feature build, training sample and fit are deterministic end to end."""
    config = demand.DemandModelConfig(num_boost_round=40, min_data_in_leaf=20)
    again = backtest.run_backtest(
        xs_settings,
        "XS",
        origins=2,
        horizon=7,
        origin_step_days=3,
        base=config,
        peer_names=(),
    )
    timing = ("fit_s", "predict_s")
    for name in ("fusionloop", "oracle", "seasonal_naive"):
        first = {k: v for k, v in results["models"][name].items() if k not in timing}
        second = {k: v for k, v in again["models"][name].items() if k not in timing}
        assert first == second
