"""BENCHMARKS.md as sections: each benchmark replaces its own and keeps the others.

A section starts with ``### <title>``; its key is the title up to " market"
(e.g. "One day on the S"), so a re-run of the same benchmark on the same size
replaces its section instead of adding one. What an engineer wrote under a
generated section, after a line ``<!-- notes -->``, stays when the benchmark
writes the section again. Imported by the scripts beside it (``python
bench/<name>.py`` puts this folder on ``sys.path``).
"""

from __future__ import annotations

from pathlib import Path

BENCHMARKS_MD = Path(__file__).resolve().parent.parent / "BENCHMARKS.md"
HEAD = "# Benchmarks\n\nMade by `make bench`; figures from `bench/results/`.\n\n"
NOTES = "<!-- notes -->"


def write_section(
    text: str, key: str | None = None, path: Path = BENCHMARKS_MD
) -> None:
    """Put ``text`` (a ``### …`` section) into ``path`` under ``key``, keeping
    the hand-written notes of the section it replaces."""
    sections = {}
    if path.exists():
        for block in path.read_text().split("### ")[1:]:
            sections[block.split(" market")[0]] = "### " + block.rstrip() + "\n"
    key = key or text.removeprefix("### ").split(" market")[0]
    old = sections.get(key, "")
    notes = old[old.index(NOTES) :] if NOTES in old else ""
    sections[key] = text.rstrip() + "\n" + ("\n" + notes if notes else "")
    path.write_text(HEAD + "\n".join(sections[k] for k in sorted(sections)))
