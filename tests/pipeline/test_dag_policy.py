"""The DAG's failure policy: which errors are retried, what a failure records."""

from types import SimpleNamespace

from pipeline import dag_policy, io
from pipeline.pii import MissingKeyError
from pipeline.settings import Settings
from pipeline.sources import BadFileError

DS = "2026-01-31"


def _context(error: BaseException, map_index=-1, rendered=None) -> dict:
    """What Airflow hands an ``on_failure_callback`` (the fields we read)."""
    ti = SimpleNamespace(
        task_id="ingest.validate_source",
        map_index=map_index,
        rendered_map_index=rendered,
        try_number=3,
        run_id="scheduled__2026-01-31",
    )
    return {"ti": ti, "exception": error, "params": {"run_date": None}, "ds": DS}


def test_permanent_errors_get_their_fix_transient_ones_the_retry_advice():
    assert "re-land the file" in dag_policy.what_to_do(BadFileError("f"))
    assert "FUSION_PII_KEY" in dag_policy.what_to_do(MissingKeyError("k"))
    assert "bad setting" in dag_policy.what_to_do(ValueError("v"))
    assert dag_policy.what_to_do(OSError("disk")) == dag_policy.TRANSIENT_HINT
    assert dag_policy.what_to_do(None) == dag_policy.TRANSIENT_HINT


def test_a_failure_names_task_input_error_and_fix():
    failure = dag_policy.describe_failure(
        _context(BadFileError("orders.csv: truncated"), 4, "orders")
    )
    assert failure == {
        "task": "ingest.validate_source",
        "map_index": 4,
        "try_number": 3,
        "run_id": "scheduled__2026-01-31",
        "ds": DS,
        "input": f"run date {DS}, orders",
        "error": "BadFileError: orders.csv: truncated",
        "what_to_do": dag_policy.PERMANENT[0][1],
    }


def test_the_callback_writes_the_failure_into_the_run_report(
    tmp_path, monkeypatch, caplog
):
    monkeypatch.setenv("FUSION_HOME", str(tmp_path))
    dag_policy.record_failure(_context(OSError("disk full"), 2, "orders"))
    dag_policy.record_failure(_context(TimeoutError("db busy")))
    report = io.read_json(Settings.load().out_dir(DS) / "run_report.json")
    assert report["status"] == "failed"
    assert sorted(f["error"] for f in report["failures"]) == [
        "OSError: disk full",
        "TimeoutError: db busy",
    ]
    last = [r.getMessage() for r in caplog.records][-3:]
    assert last[0].startswith("FusionLoop task ingest.validate_source failed on")
    assert last[1] == "What failed: TimeoutError: db busy"
    assert last[2] == f"What to do: {dag_policy.TRANSIENT_HINT}"


def test_a_recorded_failure_keeps_an_existing_report(tmp_path, monkeypatch):
    monkeypatch.setenv("FUSION_HOME", str(tmp_path))
    path = Settings.load().out_dir(DS) / "run_report.json"
    io.write_json({"ds": DS, "status": "success", "plan": {"order_lines": 3}}, path)
    dag_policy.record_failure(_context(OSError("disk full")))
    report = io.read_json(path)
    assert report["plan"] == {"order_lines": 3}
    assert report["status"] == "failed" and len(report["failures"]) == 1


def test_retry_delays_come_from_the_settings(monkeypatch):
    monkeypatch.setenv("FUSION_RETRY_DELAY_S", "2")
    monkeypatch.setenv("FUSION_MAX_RETRY_DELAY_S", "30")
    args = dag_policy.default_args()
    assert args["retry_delay"].total_seconds() == 2
    assert args["max_retry_delay"].total_seconds() == 30
    assert args["retry_exponential_backoff"] == dag_policy.BACKOFF
    monkeypatch.delenv("FUSION_RETRY_DELAY_S")
    monkeypatch.delenv("FUSION_MAX_RETRY_DELAY_S")
    assert dag_policy.default_args()["retry_delay"].total_seconds() == 60
    assert dag_policy.default_args()["max_retry_delay"].total_seconds() == 900
