"""An orders-only import through the whole daily run, as ``fusionloop run`` does."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline import io
from pipeline.daily import run_day
from pipeline.importer import MANIFEST, import_exports
from pipeline.mapping import load_mapping
from pipeline.planning import plan_replenishment
from pipeline.report import format_summary
from pipeline.settings import Settings

DS = "2026-01-31"


@pytest.fixture(scope="module")
def imported_run(tmp_path_factory):
    """The ``kassen`` export (order lines only) imported and run for its last day."""
    from tests.import_samples import write_sample

    root = tmp_path_factory.mktemp("kassen_run")
    mapping_path, folder = write_sample("kassen", root)
    settings = Settings.load(
        fusion_home=root / "home", pii_key="test-key", train_window_days=30
    )
    import_exports(
        load_mapping(mapping_path), folder, settings.landing, settings.expectations_dir
    )
    return settings, run_day(settings, DS)


def test_orders_only_import_runs_every_stage(imported_run):
    settings, report = imported_run
    orders = report["sources"]["orders"]
    assert orders["input_rows"] == orders["accepted_rows"] + orders["quarantined_rows"]
    landed = sum(len(pd.read_csv(p)) for p in settings.landing.glob("*/orders.csv"))
    assert sum(d["input_rows"] for d in orders["conservation"]) == landed
    assert orders["quarantined_rows"] == 0
    assert report["forecast"]["metrics"]["lightgbm"]["rows"] > 0
    assert report["plan"]["status"] == "Optimal" and report["plan"]["order_lines"] > 0


def test_plan_lines_and_report_flag_the_defaults(imported_run):
    settings, report = imported_run
    plan = pd.read_csv(settings.out_dir(DS) / "replenishment_plan.csv")
    assert plan.reason.str.contains("assumed by import, not exported").all()
    assert plan.reason.str.contains("erp_inventory").all()
    facts = report["import"]
    assert facts["grain"] == "day" and facts["customers"].startswith("no CRM export")
    assert any("zero on hand" in a for a in facts["plan_assumptions"])
    summary = format_summary(report)
    assert "plan assumes (not exported):" in summary
    assert "customers: no CRM export" in summary
    assert "target every consenting customer" in summary


def test_plan_is_skipped_when_the_mapping_says_so(imported_run):
    settings, _ = imported_run
    manifest = io.read_json(settings.landing / MANIFEST)
    io.write_json(manifest | {"plan": "skip"}, settings.landing / MANIFEST)
    try:
        result = plan_replenishment(settings, DS)
    finally:
        io.write_json(manifest, settings.landing / MANIFEST)
    assert result["status"].startswith("skipped: the import lacked")
    assert result["order_lines"] == 0
    plan = pd.read_csv(settings.out_dir(DS) / "replenishment_plan.csv")
    assert plan.empty and "reason" in plan.columns


def test_without_crm_markdowns_target_all_consenting_customers():
    from models.promotions import best_segments
    from pipeline.promoting import all_customers_response

    customers = pd.DataFrame(
        {"customer_id": ["a", "b"], "marketing_consent": [True, False]}
    )
    targets = best_segments(all_customers_response(customers), "toys", k=1)
    assert targets.segment.tolist() == ["all"]
    assert targets.consenting_customers.tolist() == [1]
    nobody = customers.assign(marketing_consent=False)
    assert best_segments(all_customers_response(nobody), "toys", k=1).empty
