"""``fusionloop import`` and ``fusionloop backtest --landing`` as a user runs them."""

from __future__ import annotations

import json

from pipeline.cli import main


def test_import_then_backtest_from_the_command_line(
    sample, tmp_path, monkeypatch, capsys
):
    mapping, folder = sample("weekly")
    monkeypatch.setenv("FUSION_HOME", str(tmp_path / "home"))
    assert main(["import", "--mapping", str(mapping), "--input", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "(week grain, measure units)" in out
    assert "orders.sku" not in out  # mapped to the department
    assert "plan: erp_inventory: not exported, zero on hand" in out
    landing = tmp_path / "home" / "landing"
    assert main(["backtest", "--landing", str(landing), "--horizon", "8"]) == 0
    out = capsys.readouterr().out
    assert "| fusionloop |" in out and "| seasonal_naive |" in out
    saved = json.loads((tmp_path / "home/out/backtest/landing.json").read_text())
    assert saved["grain"] == "week" and saved["horizon_periods"] == 8


def test_a_mapping_error_exits_non_zero_with_the_message(
    sample, tmp_path, monkeypatch, capsys
):
    mapping, folder = sample("kassen")
    mapping.write_text(mapping.read_text().replace('"Filiale"', '"filiale"'))
    monkeypatch.setenv("FUSION_HOME", str(tmp_path / "home"))
    assert main(["import", "--mapping", str(mapping), "--input", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "location_id = 'filiale': no such column" in err
    assert "did you mean 'Filiale'?" in err
    assert not (tmp_path / "home" / "landing").exists()  # nothing written
