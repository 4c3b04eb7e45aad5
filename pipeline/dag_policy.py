"""How ``fusion_daily`` retries, reports a failure and asks for its params.

The DAG file only wires tasks; this module holds the policy it applies to
all of them. A retry helps only with what may pass by itself (a locked file,
a busy database, a landing drop not there yet), so those are retried with
exponential backoff; a bad input file, a wrong setting or a bug fails at once
with the fix in its message. When a task has failed for good, the failure
callback writes its last log lines (what failed, on which input, what to do)
and records the failure in the day's run report.

Airflow is imported inside the functions that need it, so ``pipeline`` stays
importable (and testable) without Airflow at hand.
"""

from __future__ import annotations

import logging
from datetime import timedelta

RETRIES = 2
BACKOFF = 2.0  # each retry waits twice as long as the last: 1 min, 2 min, ...
DECISION_PARAMS = ("horizon_days", "service_level", "budget_eur")

# Errors a retry cannot fix, first match wins: (exception, what to do).
PERMANENT = (
    (
        "pipeline.sources.BadFileError",
        "bad input file: fix or re-land the file named above, then clear the task",
    ),
    (
        "pipeline.pii.MissingKeyError",
        "no PII key: set FUSION_PII_KEY (or the Airflow connection), clear the task",
    ),
    (
        "builtins.ValueError",
        "bad setting or input value: correct it as the error says, clear the task",
    ),
    (
        "builtins.AssertionError",
        "a pipeline invariant broke (a bug): report it with this log",
    ),
)
TRANSIENT_HINT = (
    "retried with exponential backoff and still failing: fix the cause named "
    "above, then clear the task (every task is idempotent for its run date)"
)

log = logging.getLogger("fusionloop.failure")


def retry_policy():
    """An ``ExceptionRetryPolicy``: fail at once on ``PERMANENT``, retry the rest."""
    from airflow.sdk import ExceptionRetryPolicy, RetryAction, RetryRule

    return ExceptionRetryPolicy(
        rules=[
            RetryRule(exception=error, action=RetryAction.FAIL, reason=hint)
            for error, hint in PERMANENT
        ]
    )


def default_args() -> dict:
    """Every task's retry count, backoff, retry policy and failure callback.

    The delays are settings (``FUSION_RETRY_DELAY_S``, default 1 min;
    ``FUSION_MAX_RETRY_DELAY_S``, 15 min), read when the DAG is parsed.
    """
    from pipeline.settings import Settings

    settings = Settings.load()
    return {
        "retries": RETRIES,
        "retry_delay": timedelta(seconds=settings.retry_delay_s),
        "retry_exponential_backoff": BACKOFF,
        "max_retry_delay": timedelta(seconds=settings.max_retry_delay_s),
        "retry_policy": retry_policy(),
        "on_failure_callback": record_failure,
    }


def params() -> dict:
    """The trigger form: the run date and the decision knobs (empty = configured)."""
    from airflow.sdk import Param

    def optional(kind: str, description: str, **schema) -> Param:
        return Param(None, type=["null", kind], description=description, **schema)

    return {
        "run_date": optional(
            "string", "Day of data (YYYY-MM-DD); empty = logical date.", format="date"
        ),
        "horizon_days": optional(
            "integer", "Forecast and plan horizon, days.", minimum=1, maximum=60
        ),
        "service_level": optional(
            "number",
            "Protected demand quantile of the plan.",
            minimum=0.5,
            maximum=0.999,
        ),
        "budget_eur": optional(
            "number", "Purchasing budget over the horizon, EUR.", minimum=0
        ),
    }


def what_to_do(error: BaseException | None) -> str:
    """The fix for ``error``: the hint of its ``PERMANENT`` rule, else retry advice."""
    import importlib

    for path, hint in PERMANENT:
        module, name = path.rsplit(".", 1)
        if isinstance(error, getattr(importlib.import_module(module), name)):
            return hint
    return TRANSIENT_HINT


def describe_failure(context) -> dict:
    """What failed, on which input and what to do, from a task's failure context."""
    ti, error = context["ti"], context.get("exception")
    run_date = (context.get("params") or {}).get("run_date") or context.get("ds")
    task_input = f"run date {run_date}"
    if getattr(ti, "rendered_map_index", None):
        task_input += f", {ti.rendered_map_index}"
    return {
        "task": ti.task_id,
        "map_index": getattr(ti, "map_index", -1),
        "try_number": ti.try_number,
        "run_id": ti.run_id,
        "ds": run_date,
        "input": task_input,
        "error": f"{type(error).__name__}: {error}" if error else "unknown error",
        "what_to_do": what_to_do(error),
    }


def record_failure(context) -> None:
    """``on_failure_callback``: log the failure last, then add it to the run report."""
    from pipeline.report import record_failure as add_to_report
    from pipeline.settings import Settings

    failure = describe_failure(context)
    try:
        if failure["ds"]:
            add_to_report(Settings.load(), failure["ds"], failure)
    finally:
        log.error(
            "FusionLoop task %s failed on %s (try %s)",
            failure["task"],
            failure["input"],
            failure["try_number"],
        )
        log.error("What failed: %s", failure["error"])
        log.error("What to do: %s", failure["what_to_do"])
