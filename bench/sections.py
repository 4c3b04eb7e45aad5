"""BENCHMARKS.md as sections: each benchmark replaces its own and keeps the others.

A section starts with ``### <title>``; its key is the title up to " market"
(e.g. "One day on the S"), so a re-run of the same benchmark on the same size
replaces its section instead of adding one. Imported by the scripts beside it
(``python bench/<name>.py`` puts this folder on ``sys.path``).
"""

from __future__ import annotations

from pathlib import Path

BENCHMARKS_MD = Path(__file__).resolve().parent.parent / "BENCHMARKS.md"
HEAD = "# Benchmarks\n\nMade by `make bench`; figures from `bench/results/`.\n\n"


def write_section(text: str, key: str | None = None) -> None:
    """Put ``text`` (a ``### …`` section) into BENCHMARKS.md under ``key``."""
    sections = {}
    if BENCHMARKS_MD.exists():
        for block in BENCHMARKS_MD.read_text().split("### ")[1:]:
            sections[block.split(" market")[0]] = "### " + block.rstrip() + "\n"
    sections[key or text.removeprefix("### ").split(" market")[0]] = text
    BENCHMARKS_MD.write_text(HEAD + "\n".join(sections[k] for k in sorted(sections)))
