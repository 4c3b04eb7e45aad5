"""The data quality gate for one day, as ``fusionloop validate --ds D`` runs it.

Extracts and validates every source (the same stage functions the DAG runs)
and says, per source, what came in, what was accepted and quarantined, and
which rules failed most; a required source with a bad drop stops the gate.
"""

from __future__ import annotations

from pipeline import daily, datadocs
from pipeline.settings import Settings
from pipeline.sources import SOURCES, BadFileError


def run_gate(settings: Settings, ds: str) -> tuple[dict[str, dict], list[str]]:
    """Validate every source for ``ds``; returns counts per source and the errors.

    A source whose drop stops the run has an ``error`` instead of counts; the
    other sources are still validated, so one call shows every problem.
    """
    counts, errors = {}, []
    for source in SOURCES:
        try:
            counts[source] = daily.validate(
                settings, daily.extract(settings, source, ds)
            )
        except BadFileError as err:
            counts[source] = {"error": str(err)}
            errors.append(str(err))
    datadocs.write_index(settings, ds)
    return counts, errors


def format_gate(ds: str, counts: dict[str, dict]) -> str:
    """A plain-text table: input, accepted, quarantined and top rules per source."""
    lines = [
        f"data quality gate for {ds}",
        "",
        f"{'source':<22}{'input':>9}{'accepted':>10}{'quarantined':>13}  "
        "drop of     top failing rules",
    ]
    for source, c in counts.items():
        if "error" in c:
            lines.append(f"{source:<22}{'STOPPED':>32}  see below")
            continue
        top = sorted(c["rules_broken"].items(), key=lambda kv: -kv[1])[:3]
        rules = ", ".join(f"{rule} ({n})" for rule, n in top) or "-"
        lines.append(
            f"{source:<22}{c['input_rows']:>9,}{c['accepted_rows']:>10,}"
            f"{c['quarantined_rows']:>13,}  {c['snapshot_day']}  {rules}"
        )
        if c.get("fallback"):
            lines.append(f"  {c['fallback']}")
    return "\n".join(lines)
