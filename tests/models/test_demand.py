from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from models import demand


def _frame(n=600, seed=0):
    rng = np.random.default_rng(seed)
    f = pd.DataFrame({c: rng.random(n) for c in demand.NUMERIC_FEATURES})
    f["horizon_day"] = rng.integers(1, 15, n)
    for col in demand.CATEGORICAL_FEATURES:
        f[col] = rng.choice(["a", "b"], n)
    f["sku"], f["location_id"] = rng.integers(0, 20, n).astype(str), "L1"
    f["target_units"] = rng.poisson(1 + 4 * f.mean_7d_units)
    return f


@pytest.mark.parametrize("objective", ["quantile", "tweedie"])
def test_training_is_deterministic_and_quantiles_are_ordered(objective):
    train = _frame()
    cfg = demand.DemandModelConfig(num_boost_round=30, point_objective=objective)
    a = demand.predict(demand.fit(train, cfg), train)
    b = demand.predict(demand.fit(train, cfg), train)
    pd.testing.assert_frame_equal(a, b)
    assert (a.p90_units >= a.p50_units).all() and (a.p50_units >= 0).all()


def test_training_rows_are_capped_by_a_seeded_sample_in_order():
    train = _frame(n=100)
    a = demand.bounded_sample(train, 30, seed=3)
    assert len(a) == 30 and a.index.is_monotonic_increasing
    assert a.index.equals(demand.bounded_sample(train, 30, seed=3).index)
    assert demand.bounded_sample(train, 500, seed=3) is train


def test_training_rows_grow_with_the_series_above_the_flat_cap():
    train = _frame(n=400)  # 20 SKUs at one location
    flat = demand.DemandModelConfig(max_training_rows=30, training_rows_per_series=0)
    assert demand.training_rows_cap(train, flat) == 30
    per = replace(flat, training_rows_per_series=5)
    assert demand.training_rows_cap(train, per) == 100  # 20 series x 5
    assert demand.training_rows_cap(train, replace(per, max_training_rows=300)) == 300
    # The cap is what the boosters see: 30 rows or 100 give other models.
    a = demand.predict(demand.fit(train, replace(flat, num_boost_round=20)), train)
    b = demand.predict(demand.fit(train, replace(per, num_boost_round=20)), train)
    assert not a.equals(b)


def test_model_learns_the_signal_better_than_a_constant():
    train, test = _frame(seed=1), _frame(seed=2)
    pred = demand.predict(
        demand.fit(train, demand.DemandModelConfig(num_boost_round=60)), test
    )
    model = demand.accuracy(test.target_units, pred.p50_units)["wape"]
    constant = demand.accuracy(
        test.target_units, np.full(len(test), train.target_units.median())
    )
    assert model < constant["wape"]


def test_save_and_load_round_trip(tmp_path):
    train = _frame()
    model = demand.fit(train, demand.DemandModelConfig(num_boost_round=10))
    model.save(tmp_path)
    loaded = demand.DemandModel.load(tmp_path, model.categories, model.config_dict())
    pd.testing.assert_frame_equal(
        demand.predict(model, train), demand.predict(loaded, train)
    )


def test_the_mean_booster_gives_the_expected_units_the_median_does_not():
    # Intermittent demand: mean 0.4 a day, so the median day sells nothing. A
    # plan on summed P50s would protect nothing; the mean booster's sum is the
    # units actually wanted.
    train, test = _frame(n=4000, seed=1), _frame(n=4000, seed=2)
    for k, f in enumerate((train, test)):
        f["target_units"] = np.random.default_rng(k).poisson(0.4, len(f))
    config = demand.DemandModelConfig(num_boost_round=30, mean_objective="poisson")
    pred = demand.predict(demand.fit(train, config), test)
    assert pred.p50_units.sum() < 0.3 * test.target_units.sum()
    assert pred.mean_units.sum() == pytest.approx(test.target_units.sum(), rel=0.1)
    assert (pred.mean_units >= 0).all()
    # Without a mean objective: no booster, no column (the plan reads the P50).
    none = demand.fit(
        train, demand.DemandModelConfig(num_boost_round=5, mean_objective="")
    )
    assert "mean_units" not in demand.predict(none, test)


def test_a_model_saved_before_the_mean_booster_still_loads(tmp_path):
    config = demand.DemandModelConfig(num_boost_round=5, mean_objective="poisson")
    model = demand.fit(_frame(), config)
    model.save(tmp_path)
    old_config = {k: v for k, v in model.config_dict().items() if k != "mean_objective"}
    (tmp_path / "model_mean.txt").unlink()
    loaded = demand.DemandModel.load(tmp_path, model.categories, old_config)
    assert set(loaded.boosters) == {"p50", "p90"}


def test_accuracy_on_known_values():
    m = demand.accuracy([2, 0, 2], [1, 1, 2], p90=[3, 0, 1])
    assert m["wape"] == pytest.approx(0.5)
    assert m["bias"] == pytest.approx(0.0)
    assert m["coverage_p90"] == pytest.approx(2 / 3)
    assert m["pinball_p90"] == pytest.approx((0.1 * 1 + 0 + 0.9 * 1) / 3)


def test_mase_divides_each_error_by_its_series_scale():
    m = demand.accuracy([4, 0, 3, 5], [2, 1, 3, 9], mase_scale=[2, 2, 0.5, 0])
    # the last row has no scale (a flat history) and is left out
    assert m["mase"] == pytest.approx((2 / 2 + 1 / 2 + 0 / 0.5) / 3)
    assert m["bias"] == pytest.approx((-2 + 1 + 0 + 4) / 12)
