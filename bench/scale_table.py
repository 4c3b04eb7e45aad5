"""The BENCHMARKS.md section of ``bench/day.py``: one day per market size.

Per stage and size: seconds, peak RSS and rows in, then the growth from one
size to the next of the stage's time beside the growth of its rows. The six
extracts (and the six validations) are summed into one line each, and so are
the region shards of the forecast (``forecast_demand.<region>``) and of the
plan (``plan_region.<region>``, counted in ``plan_replenishment``); the JSON
keeps every part.
"""

from __future__ import annotations

ORDER = ["S", "M", "L", "XS"]
STAGES = [
    "extract",
    "validate",
    "build_features",
    "train_demand_model",
    "forecast_demand",
    "plan_replenishment",
    "adjust_promotions",
    "write_back",
    "kpi_report",
]


SOURCES = 6
# The runs ``bench/day.py`` records per size, in the order it runs them.
RUNS = (
    "initial_load",
    "fusionloop_run",
    "airflow_dags_test",
    "airflow_scheduler",
    "airflow_celery",
)


def grouped(stages: dict) -> dict:
    """Stage records with the per-source extract and validate lines summed.

    A group missing sources (a run stopped midway) has no rows in, so no
    growth ratio is computed from it, and its seconds say how many it has.
    """
    out = {}
    for name, s in stages.items():
        key = _stage_key(name)
        g = out.setdefault(
            key, {"seconds": 0.0, "peak_rss_mb": 0, "rows_in": 0, "parts": 0}
        )
        g["parts"] += 1
        g["seconds"] = round(g["seconds"] + s["seconds"], 3)
        g["peak_rss_mb"] = max(g["peak_rss_mb"], s.get("peak_rss_mb") or 0)
        if s.get("rows_in") is None or g["rows_in"] is None:
            g["rows_in"] = None
        else:
            g["rows_in"] += s["rows_in"]
    for key in ("extract", "validate"):
        if key in out and out[key]["parts"] < SOURCES:
            g = out[key]
            g["rows_in"] = None
            g["seconds"] = f"{g['seconds']} ({g['parts']} of {SOURCES} sources)"
    return out


def _stage_key(name: str) -> str:
    """The table's line for a stage record (sources and regions summed)."""
    if name.startswith(("extract_", "validate_")):
        return name.split("_")[0]
    base = name.split(".")[0]
    return "plan_replenishment" if base == "plan_region" else base


def _pairs(items: list) -> list[tuple]:
    """Each item with the next: (S, M), (M, L)."""
    return list(zip(items, items[1:], strict=False))


def _ratio(a, b) -> str:
    numbers = all(isinstance(x, int | float) for x in (a, b))
    return f"{b / a:.1f}x" if numbers and a else "-"


def render(results: dict) -> str:
    """Markdown of every measured size (S, M, L order)."""
    sizes = [s for s in ORDER if s in results]
    first = results[sizes[0]]
    lines = [
        "### Scale tiers: one pipeline day per market size",
        "",
        f"`python bench/day.py --sizes {','.join(sizes)}` ({first['machine']}, "
        "shared with other work: load averages below). The day is "
        f"{first['ds']}, run after the initial load of the history and one "
        "market step; per-stage figures are from `fusionloop run`; rows in: "
        "extract/validate the drops read, build_features the clean lake, "
        "train the known feature rows, plan the LP variables.",
        "",
        *_stage_table(results, sizes, "fusionloop_run"),
        "",
        "| | " + " | ".join(sizes) + " |",
        "| --- |" + " ---: |" * len(sizes),
        *_totals(results, sizes),
        "",
        "The initial load (every drop of the history, then the day's decisions), "
        "per stage:",
        "",
        *_stage_table(results, sizes, "initial_load"),
        *_notes(results, sizes),
    ]
    return "\n".join(lines) + "\n"


def _stage_table(results: dict, sizes: list[str], run: str) -> list[str]:
    """Per stage of ``run``: seconds, MB, rows in per size; growth between sizes."""
    runs = {s: grouped(results[s].get(run, {}).get("stages", {})) for s in sizes}
    lines = [
        "| stage | "
        + " | ".join(f"{s} s | {s} MB | {s} rows in" for s in sizes)
        + "".join(f" | {a}→{b} time | {a}→{b} rows" for a, b in _pairs(sizes))
        + " |",
        "| --- |" + " ---: |" * (3 * len(sizes) + 2 * (len(sizes) - 1)),
    ]
    for stage in STAGES:
        cells = [runs[s].get(stage, {}) for s in sizes]
        row = [f"| {stage}"]
        for c in cells:
            rows_in = c.get("rows_in")
            row += [
                f"{c.get('seconds', '-')}",
                f"{c.get('peak_rss_mb', '-')}",
                f"{rows_in:,}" if rows_in is not None else "-",
            ]
        for a, b in _pairs(cells):
            row += [
                _ratio(a.get("seconds"), b.get("seconds")),
                _ratio(a.get("rows_in"), b.get("rows_in")),
            ]
        lines.append(" | ".join(row) + " |")
    return lines


def _totals(results: dict, sizes: list[str]) -> list[str]:
    """Whole-run lines: the day with and without Airflow, load, generation."""

    def line(label, get):
        return (
            f"| {label} | "
            + " | ".join(_or_dash(get, results[s]) for s in sizes)
            + " |"
        )

    def share(r):
        base, af = r["fusionloop_run"], r["airflow_dags_test"]
        if "note" in base or "note" in af:
            raise KeyError("a run stopped before its end: no share")
        return f"{1 - base['wall_s'] / af['wall_s']:.0%}"

    def same_plan(r):
        runs = [r[run] for run in RUNS[1:]]  # the initial load is another day
        if any("note" in run or "plan_sha256" not in run for run in runs):
            raise KeyError("a run stopped, or an older record: not compared")
        return "yes" if len({run["plan_sha256"] for run in runs}) == 1 else "no"

    def build(r):
        done = r["fusionloop_run"]["warehouse_build"]
        return f"{done['mode']}, marts from {done['marts_since']}"

    return [
        line("history, days", lambda r: r["history_days"]),
        line("day: fusionloop run, s", lambda r: r["fusionloop_run"]["wall_s"]),
        line("day: airflow dags test, s", lambda r: r["airflow_dags_test"]["wall_s"]),
        line("Airflow's share of the day", share),
        line(
            "day: fusionloop run, peak MB", lambda r: r["fusionloop_run"]["peak_rss_mb"]
        ),
        line(
            "day: airflow dags test, peak MB",
            lambda r: r["airflow_dags_test"]["peak_rss_mb"],
        ),
        line(
            "day: airflow scheduler (LocalExecutor, mapped tasks side by side), s",
            lambda r: r["airflow_scheduler"]["wall_s"],
        ),
        line(
            "day: airflow scheduler, peak MB (all processes summed)",
            lambda r: r["airflow_scheduler"]["peak_rss_mb"],
        ),
        line(
            "day: airflow scheduler + Celery worker (CeleryExecutor), s",
            lambda r: r["airflow_celery"]["wall_s"],
        ),
        line(
            "day: CeleryExecutor, peak MB (all processes summed)",
            lambda r: r["airflow_celery"]["peak_rss_mb"],
        ),
        line("plan the same in every run of the day", same_plan),
        line("day: warehouse build", build),
        line("load average at the end", lambda r: r["fusionloop_run"]["load_average"]),
        line("initial load (all history), s", lambda r: r["initial_load"]["wall_s"]),
        line("initial load, peak MB", lambda r: r["initial_load"]["peak_rss_mb"]),
        line("market generation, s", lambda r: r["generate"]["wall_s"]),
        line("market generation, peak MB", lambda r: r["generate"]["peak_rss_mb"]),
    ]


def _or_dash(get, result: dict) -> str:
    """``get(result)`` as text, or "-" where that step has not been measured."""
    try:
        return str(get(result))
    except (KeyError, TypeError):
        return "-"


def _notes(results: dict, sizes: list[str]) -> list[str]:
    """What a size's runs say about themselves (a run stopped before its end)."""
    notes = []
    for size in sizes:
        load = results[size].get("initial_load", {})
        if len(load.get("sittings", [])) > 1:
            cut = ", ".join(load.get("cut_short_by_a_stop", [])) or "none"
            notes.append(
                f"{size}, initial load: in {len(load['sittings'])} sittings of "
                f"{' + '.join(f'{w:,.0f}' for w in load['sittings'])} s (the "
                "pipeline went on from the drops it had loaded). Each stage "
                "counts once, as the sitting that finished it ran it; re-runs "
                f"after a stop took {load.get('resume_rerun_s', 0):,.0f} s; the "
                f"stage a stop cut short ({cut}) has its part before the stop "
                "from file times if it went on from there (extract, validate), "
                f"else that part was lost ({load.get('lost_to_stops_s', 0):,.0f} s)."
            )
        for run in RUNS:
            record = results[size].get(run, {})
            if "note" not in record:
                continue
            done = [
                f"{name} {s['seconds']} s, {s['peak_rss_mb']} MB"
                + (f", {s['rows_in']:,} rows" if s.get("rows_in") else "")
                for name, s in record["stages"].items()
            ]
            notes.append(
                f"{size}, {run.replace('_', ' ')}: {record['note']}. "
                f"Finished stages: {'; '.join(done)}."
            )
    return ["", *notes] if notes else []
