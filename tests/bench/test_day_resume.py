"""bench/day.py --resume: an L day measured over several sittings.

The runners are replaced by stand-ins that record what ran and change the
warehouse the way a run does; what is tested is which steps a resumed run
measures again and which warehouse each run starts from.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import day  # noqa: E402
import day_home  # noqa: E402


class Stop(Exception):
    """The session ending under a long step."""


@pytest.fixture
def bench(tmp_path, monkeypatch):
    monkeypatch.setattr(day, "REPO", tmp_path)
    home = tmp_path / "var" / "bench" / "XS"
    ran, seen, stop_at = [], [], set()

    stages = home / "out" / day.BENCH_DAY / "_stages"

    def pipeline_run(cmd, env, log, may_fail=False):
        name = " ".join(cmd[-3:])
        ran.append(name)
        warehouse = home / "warehouse.duckdb"
        seen.append(warehouse.read_text() if warehouse.exists() else None)
        if name.endswith(day.BENCH_DAY) and not name.startswith("step"):
            # no stage record of an earlier run of the day is left to read
            assert not stages.exists(), f"{name} starts beside old stage records"
            stages.mkdir(parents=True)
        if name in stop_at:
            warehouse.write_text("half-built")
            raise Stop(name)
        warehouse.write_text(f"after {name}")
        return {"wall_s": 1.0, "peak_rss_mb": 10}

    def scheduler_day(home_, celery=False):
        name = "celery" if celery else "scheduler"
        ran.append(name)
        seen.append((home_ / "warehouse.duckdb").read_text())
        assert not stages.exists(), f"{name} starts beside old stage records"
        stages.mkdir(parents=True)
        if name in stop_at:
            raise Stop(name)
        (home_ / "warehouse.duckdb").write_text(f"after {name}")
        return {"wall_s": 2.0, "peak_rss_mb": 20}

    def market_step(home_, env, log):
        return pipeline_run(["step", "--ds", day.BENCH_DAY], env, log)

    monkeypatch.setattr(day, "measure", pipeline_run)
    monkeypatch.setattr(day, "scheduler_day", scheduler_day)
    monkeypatch.setattr(day, "market_step", market_step)
    monkeypatch.setattr(day, "copy_market", lambda *a: {"wall_s": 0.5})
    monkeypatch.setattr(
        day, "day_record", lambda measured, h, ds: measured | {"stages": {}}
    )
    monkeypatch.setattr(day.subprocess, "run", lambda *a, **k: None)
    saved = {}

    def save(result):
        saved.clear()
        saved.update(result, machine="2 cores")

    return ran, seen, stop_at, saved, save


def test_a_stopped_day_goes_on_from_the_step_it_stopped_in(bench):
    ran, seen, stop_at, saved, save = bench
    stop_at.add("scheduler")
    with pytest.raises(Stop):
        day.bench_size("XS", save)
    assert [s for s in day.STEPS if s in saved] == list(day.STEPS[:5])
    first, first_seen = list(ran), list(seen)

    ran.clear(), seen.clear(), stop_at.clear()
    result = day.bench_size("XS", save, earlier=dict(saved))
    # only the two scheduler runs: the measured steps are not run again
    assert ran == ["scheduler", "celery"]
    # each starts from the warehouse the first bench-day run started from,
    # not from the one the stopped run left
    before_day = first_seen[first.index("run --ds 2026-02-01")]
    assert before_day == "after step --ds 2026-02-01" and seen == [before_day] * 2
    assert all(s in result for s in day.STEPS)
    assert result["airflow_dags_test"]["wall_s"] == 1.0
    assert first[:2] == ["run --ds 2026-01-31", "step --ds 2026-02-01"]


def test_a_stop_before_the_initial_load_starts_the_size_again(bench):
    """Only the market's copy was done (as an older bench/day.py saved it):
    nothing worth keeping, so the size starts again in a fresh home."""
    ran, seen, stop_at, saved, save = bench
    day.bench_size("XS", save)
    earlier = {k: saved[k] for k in ("size", "history_days", "ds", "run_id")}
    earlier["generate"] = saved["generate"]
    ran.clear(), seen.clear()
    result = day.bench_size("XS", save, earlier=earlier)
    assert ran[0] == "run --ds 2026-01-31" and len(ran) == 6
    assert seen[0] is None  # a fresh home
    assert result["run_id"] != earlier["run_id"]


def test_a_saved_result_from_another_home_is_not_resumed(bench, tmp_path):
    ran, seen, stop_at, saved, save = bench
    stop_at.add("celery")
    with pytest.raises(Stop):
        day.bench_size("XS", save)
    (tmp_path / "var" / "bench" / "XS" / day.RUN_ID_FILE).write_text("another run")
    ran.clear(), stop_at.clear()
    day.bench_size("XS", save, earlier=dict(saved))
    assert len(ran) == 6  # everything measured again, in a fresh home


def test_a_day_measured_in_full_is_left_as_it_is(bench, tmp_path):
    ran, seen, stop_at, saved, save = bench
    day.bench_size("XS", save)
    home = tmp_path / "var" / "bench" / "XS"
    warehouse = (home / "warehouse.duckdb").read_text()
    ran.clear()
    assert day.bench_size("XS", save, earlier=dict(saved)) == {
        k: v for k, v in saved.items() if k != "machine"
    }
    assert ran == [] and (home / "warehouse.duckdb").read_text() == warehouse
    assert not (home / "warehouse.before_day.duckdb").exists()


def test_a_market_stepped_before_the_stop_is_not_stepped_again(tmp_path, monkeypatch):
    from pipeline import market
    from pipeline.settings import Settings

    settings = Settings.load(fusion_home=tmp_path, pii_key="k")
    market.generate(settings, size="XS", days=10, seed=3, end=day.LAST_HISTORY_DAY)
    stepped = []
    monkeypatch.setattr(day, "measure", lambda cmd, env, log: stepped.append(cmd))
    day.market_step(tmp_path, {}, tmp_path / "log")
    assert [cmd[-3:] for cmd in stepped] == [["step", "--ds", day.BENCH_DAY]]
    market.step(settings, day.BENCH_DAY, policy="baseline")  # what that cmd does
    assert "not measured" in day.market_step(tmp_path, {}, tmp_path / "log")["note"]
    assert len(stepped) == 1


def _validated(*days: str) -> dict:
    """A validate stage's result: each drop 100 rows, 98 accepted."""
    drops = [{"ds": d, "input_rows": 100, "accepted_rows": 98} for d in days]
    return {"days_validated": drops}


@pytest.mark.parametrize("stopped_in", ["validate_orders", "train_demand_model"])
def test_an_initial_load_goes_on_after_a_stop_and_its_sittings_add_up(
    stopped_in, bench, tmp_path, monkeypatch
):
    """The pipeline goes on from the drops it loaded; the benchmark adds the
    sittings' wall times, counts each stage once (as the sitting that finished
    it ran it; later re-runs apart), names the stage the stop cut short and
    gives it the seconds it ran before the stop (from file times) if it goes
    on from there (extract, validate), else counts them as lost."""
    ran, seen, stop_at, saved, save = bench
    home = tmp_path / "var" / "bench" / "XS"
    stages = home / "out" / day.LAST_HISTORY_DAY / "_stages"
    plain_run = day.measure
    # the stages in the order they run, with their seconds and results
    plan = [
        ("extract_orders", 10.0, {}),
        ("validate_orders", 20.0, _validated("d1", "d2")),
        ("train_demand_model", 30.0, {}),
        ("adjust_promotions", 3.0, {}),  # sorts first by name, runs last
    ]

    def initial_load(cmd, env, log, may_fail=False):
        if cmd[-3:] != ["run", "--ds", day.LAST_HISTORY_DAY]:
            return plain_run(cmd, env, log, may_fail)
        ran.append("initial load")
        stages.mkdir(parents=True, exist_ok=True)
        again = bool(list(stages.glob("*.json")))  # a re-run after a stop
        now = time.time()
        for k, (name, seconds, result) in enumerate(plan):
            if "stop" in stop_at and name == stopped_in:
                # file times: the last stage done at +10 s, the stopped one's
                # last write (a lake file) at +25 s
                for p in stages.glob("*.json"):
                    os.utime(p, (now + 10, now + 10))
                (home / "lake").mkdir(exist_ok=True)
                (home / "lake" / "part").write_text("loaded so far")
                os.utime(home / "lake" / "part", (now + 25, now + 25))
                raise Stop(f"in {name}")
            if again and name in ("extract_orders", "validate_orders"):
                seconds, result = 1.0, _validated("d2")  # only the new drop
            record = {
                "seconds": seconds,
                "peak_rss_mb": 100 * (k + 1),
                "result": result,
            }
            (stages / f"{name}.json").write_text(json.dumps(record))
            os.utime(stages / f"{name}.json", (now + 30 + k, now + 30 + k))
        return {"wall_s": 25.0, "peak_rss_mb": 50}

    def day_record(measured, home_, ds):
        # by name, as bench/day.py's stage_records lists them
        records = {
            p.stem: json.loads(p.read_text()) for p in sorted(stages.glob("*.json"))
        }
        return measured | {"stages": records}

    monkeypatch.setattr(day, "measure", initial_load)
    monkeypatch.setattr(day, "day_record", day_record)
    stop_at.add("stop")
    with pytest.raises(Stop):
        day.bench_size("XS", save)
    assert "initial_load" not in saved and len(saved["initial_load_sittings"]) == 1

    ran.clear(), stop_at.clear()
    result = day.bench_size("XS", save, earlier=json.loads(json.dumps(saved)))
    load = result["initial_load"]
    seconds = {name: s["seconds"] for name, s in load["stages"].items()}
    assert load["cut_short_by_a_stop"] == [stopped_in]
    assert seconds["adjust_promotions"] == 3.0
    first, second = load["sittings"]
    assert first == pytest.approx(25.0, abs=0.5) and second == 25.0
    assert load["wall_s"] == round(first + second, 1)
    if stopped_in == "validate_orders":
        # extract once (10 s; its 1 s re-run apart); validate 15 s before the
        # stop and 1 s after it, going on from the drops it had loaded
        assert seconds["extract_orders"] == 10.0 and load["resume_rerun_s"] == 1.0
        assert seconds["validate_orders"] == pytest.approx(16.0, abs=0.2)
        assert load["lost_to_stops_s"] == 0.0
    else:
        # training starts again: its 15 s before the stop were lost
        assert seconds["train_demand_model"] == 30.0
        assert load["lost_to_stops_s"] == pytest.approx(15.0, abs=0.2)
        assert seconds["validate_orders"] == 20.0 and load["resume_rerun_s"] == 2.0
        # d1 and d2 validated in the first sitting, d2 again: each drop once
        assert load["stages"]["validate_orders"]["rows_in"] == 200
        assert load["stages"]["validate_orders"]["rows_out"] == 196
    assert load["peak_rss_mb"] == 400
    assert "initial_load_sittings" not in result
    assert all(s in result for s in day.STEPS)


def test_the_heartbeat_marks_a_run_that_writes_nothing(tmp_path):
    """A stop in a long silent stage ends the sitting at the last beat."""
    beat = tmp_path / day_home.HEARTBEAT
    with day_home.heartbeat(tmp_path, every_s=0.05):
        first = beat.stat().st_mtime_ns
        time.sleep(0.3)
        later = beat.stat().st_mtime_ns
    assert later > first
    sittings = [{"started": time.time() - 60}]
    (closed,) = day_home.close_sitting(sittings, tmp_path)
    assert closed["wall_s"] == pytest.approx(60.0, abs=1.0)
