"""A backfill gives what the days run one by one give.

The closed loop first: on a copy of the market, each of ``BACKFILL_DAYS`` is
simulated from the day before's plan and promotion adjustments and then run
(without Airflow). The server's market gets the drops that loop produced, and
a backfill with ``max_active_runs`` 1 (created over the REST API, as the UI's
Backfill dialog does) runs the same days through the scheduler. Both must
leave the same lake, warehouse, models, CSVs and write-back; since the market
made each day's drop from the day before's outputs, equal outputs mean the
backfill keeps the market consistent.
"""

from __future__ import annotations

import pandas as pd

from pipeline import fingerprint
from tests.e2e.conftest import BACKFILL_DAYS


def test_the_backfill_runs_every_day_once_in_date_order(served, backfilled):
    runs = sorted(backfilled["runs"], key=lambda run: run["logical_date"])
    assert [run["state"] for run in runs] == ["success"] * len(BACKFILL_DAYS)
    assert [run["logical_date"][:10] for run in runs] == list(BACKFILL_DAYS)
    for first, second in zip(runs, runs[1:], strict=False):
        assert first["end_date"] <= second["start_date"], "backfill days overlapped"
    for run in runs:
        tries = {
            t["try_number"] for t in served.server.task_instances(run["dag_run_id"])
        }
        assert tries == {1}


def test_a_day_s_outputs_feed_the_next_day_s_market(backfilled):
    """The market placed the purchase orders yesterday's plan scheduled today."""
    one_by_one = backfilled["one_by_one"]
    day, yesterday = BACKFILL_DAYS[1], BACKFILL_DAYS[0]
    plan = pd.read_csv(one_by_one.out_dir(yesterday) / "replenishment_plan.csv")
    due = plan[(plan.order_date == day) & (plan.order_qty_units > 0)]
    placed = backfilled["reports"][day]["market_orders"]
    assert len(placed) == len(due)
    assert placed.qty.sum() == due.order_qty_units.round().sum()


def test_backfilled_outputs_equal_the_days_run_one_by_one(backfilled):
    differ = fingerprint.differences(
        backfilled["by_one_by_one"], backfilled["by_backfill"]
    )
    assert differ == []
    assert any(key.startswith("warehouse/") for key in backfilled["by_backfill"])
    assert (
        f"out/{BACKFILL_DAYS[-1]}/replenishment_plan.csv" in backfilled["by_backfill"]
    )
    assert backfilled["temp_files"] == []
