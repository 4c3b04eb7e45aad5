"""``fusionloop validate``: the table per source, and the exit code."""

import shutil

from pipeline.cli import main
from tests.conftest import XS_END


def _home(xs_settings, tmp_path, monkeypatch):
    home = tmp_path / "home"
    shutil.copytree(xs_settings.landing / XS_END, home / "landing" / XS_END)
    monkeypatch.setenv("FUSION_HOME", str(home))
    monkeypatch.setenv("FUSION_PII_KEY", "gate")
    return home


def test_validate_prints_each_source_and_exits_zero(
    xs_settings, tmp_path, monkeypatch, capsys
):
    _home(xs_settings, tmp_path, monkeypatch)
    assert main(["validate", "--ds", XS_END]) == 0
    out = capsys.readouterr().out
    orders = (xs_settings.landing / XS_END / "orders.csv").read_text()
    rows = len(orders.splitlines()) - 1
    line = next(x for x in out.splitlines() if x.startswith("orders "))
    assert line.split()[1:4] == [str(rows), str(rows), "0"]
    for source in ("crm_customers", "erp_inventory", "marketing_promotions"):
        assert any(x.startswith(source) for x in out.splitlines())
    docs = tmp_path / "home" / "out" / XS_END / "data_docs"
    assert 'href="orders.html"' in (docs / "index.html").read_text()
    page = (docs / "orders.html").read_text()
    assert "qty" in page and "values must belong to this set" in page


def test_validate_exits_non_zero_naming_the_bad_required_file(
    xs_settings, tmp_path, monkeypatch, capsys
):
    home = _home(xs_settings, tmp_path, monkeypatch)
    products = home / "landing" / XS_END / "erp_products.csv"
    products.write_text(products.read_text().replace("lead_time_days", "lead_days"))
    docs = home / "out" / XS_END / "data_docs"
    docs.mkdir(parents=True)
    (docs / "erp_products.html").write_text("an earlier run's passing page")
    assert main(["validate", "--ds", XS_END]) == 1
    captured = capsys.readouterr()
    assert "erp_products" in captured.out and "STOPPED" in captured.out
    assert f"{products}: missing column(s) ['lead_time_days']" in captured.err
    assert "the run cannot go on" in captured.err
    assert not (docs / "erp_products.html").exists()
    index = (docs / "index.html").read_text()
    assert 'href="orders.html"' in index and "erp_products" not in index


def test_an_older_bad_drop_does_not_make_a_fresh_drop_a_fallback(tmp_path):
    from pipeline import io
    from pipeline.settings import Settings
    from pipeline.sources import load_source
    from pipeline.validate import _counts_for

    settings = Settings.load(fusion_home=tmp_path)
    src = load_source("crm_customers", settings.expectations_dir)
    counts = {"input_rows": 3, "accepted_rows": 3, "quarantined_rows": 0}
    manifests = settings.lake / "manifest" / src.name
    io.write_json({"ds": "2026-01-30"} | counts, manifests / "ds=2026-01-30.json")
    io.write_json({"ds": "2026-01-31"} | counts, manifests / "ds=2026-01-31.json")
    older_bad = {"2026-01-29": "crm_customers.csv of 2026-01-29: unreadable"}
    fresh = _counts_for(settings, src, "2026-01-31", older_bad)
    assert fresh["fresh"] and fresh["fallback"] is None

    todays_bad = {"2026-02-01": "crm_customers.csv of 2026-02-01: unreadable"}
    stale = _counts_for(settings, src, "2026-02-01", todays_bad)
    assert not stale["fresh"] and "last good drop, of 2026-01-31" in stale["fallback"]
