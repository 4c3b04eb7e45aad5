from pathlib import Path

import pytest

from pipeline.settings import Settings


def test_environment_overrides_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv("FUSION_HOME", str(tmp_path))
    monkeypatch.setenv("FUSION_BUDGET_EUR", "1234.5")
    s = Settings.load()
    assert s.fusion_home == Path(tmp_path)
    assert s.budget_eur == 1234.5
    assert s.marketing_url == f"sqlite:///{tmp_path / 'marketing.db'}"


def test_keyword_overrides_win_and_none_is_ignored(monkeypatch):
    monkeypatch.setenv("FUSION_HORIZON_DAYS", "21")
    assert Settings.load(horizon_days=None).horizon_days == 21
    assert Settings.load(horizon_days=7).horizon_days == 7


def test_unknown_setting_is_an_error():
    with pytest.raises(ValueError, match="unknown setting"):
        Settings.load(budget=1)
