"""bench/sections.py: a benchmark rewrites its section and keeps the notes under it."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from sections import HEAD, write_section  # noqa: E402


def test_regenerated_section_keeps_its_notes_and_the_other_sections(tmp_path):
    md = tmp_path / "BENCHMARKS.md"
    md.write_text(
        HEAD
        + "### Closed loop on the S market, 90 days\n\n| a | 1 |\n\n"
        + "<!-- notes -->\nMeasured on a quiet machine; the baseline is the same.\n\n"
        + "### LP alone on a synthetic M market\n\n| lp | 5 s |\n"
    )
    write_section("### Closed loop on the S market, 90 days\n\n| a | 2 |\n", path=md)
    write_section("### LP alone on a synthetic M market\n\n| lp | 4 s |\n", path=md)
    write_section("### Backfill on the XS market\n\n| b | 3 |\n", path=md)
    text = md.read_text()
    assert "| a | 2 |" in text and "| a | 1 |" not in text
    assert "<!-- notes -->\nMeasured on a quiet machine" in text
    assert text.index("| a | 2 |") < text.index("Measured on a quiet machine")
    assert "| lp | 4 s |" in text and "| lp | 5 s |" not in text
    assert text.startswith(HEAD + "### Backfill on the XS market")
    assert text.count("### ") == 3
