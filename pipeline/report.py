"""The run report: rows per source, stage times, forecast, plan, write-back."""

from __future__ import annotations

from models.service import mean_per_p50
from pipeline import io
from pipeline.settings import Settings
from pipeline.sources import SOURCES


def build_report(settings: Settings, ds: str) -> dict:
    """Assemble ``run_report.json`` from the stage records of ``ds``.

    Raises if any source's input rows differ from accepted + quarantined.
    """
    stages = {
        p.stem: io.read_json(p)
        for p in sorted((settings.out_dir(ds) / "_stages").glob("*.json"))
    }
    sources = {}
    for source in SOURCES:
        counts = stages[f"validate_{source}"]["result"]
        if counts["input_rows"] != counts["accepted_rows"] + counts["quarantined_rows"]:
            raise AssertionError(
                f"{source}: rows lost between input and output: {counts}"
            )
        sources[source] = {
            k: counts[k]
            for k in (
                "input_rows",
                "accepted_rows",
                "quarantined_rows",
                "snapshot_day",
                "fresh",
                "rules_broken",
                "file",
            )
        }
        sources[source]["extra_columns"] = stages[f"extract_{source}"]["result"][
            "extra_columns"
        ]
        sources[source] |= _quality(source, counts)
    return {
        "ds": ds,
        "status": "success",
        "sources": sources,
        "stage_seconds": {name: s["seconds"] for name, s in stages.items()},
        "warehouse_rows": stages["build_features"]["result"],
        "forecast": stages["train_demand_model"]["result"],
        "plan": stages["plan_replenishment"]["result"],
        "promotions": stages["adjust_promotions"]["result"],
        "write_back": stages["write_back"]["result"],
        "kpi": stages["kpi_report"]["result"],
        "failures": failures(settings, ds),
        "import": import_facts(settings),
        "outputs": {
            "replenishment_plan": str(settings.out_dir(ds) / "replenishment_plan.csv"),
            "promotion_adjustments": str(
                settings.out_dir(ds) / "promotion_adjustments.csv"
            ),
            "marketing_db": _without_password(settings.marketing_url),
            "kpi_report": str(settings.out_dir(ds) / "kpi_report.html"),
            "data_docs": str(settings.out_dir(ds) / "data_docs" / "index.html"),
        },
    }


def failures(settings: Settings, ds: str) -> list[dict]:
    """Tasks of ``ds`` that failed for good (after their retries), by task."""
    folder = settings.out_dir(ds) / "_failures"
    return [io.read_json(p) for p in sorted(folder.glob("*.json"))]


def record_failure(settings: Settings, ds: str, failure: dict) -> None:
    """Add a task's final failure to ``out/<ds>/run_report.json``.

    The failure is kept in ``_failures/`` (a later successful re-run still
    lists it under ``failures``); a day that never got to its report gets one
    holding ``status: failed`` and the failures.
    """
    name = failure["task"] + (
        f"-{failure['map_index']}" if failure.get("map_index", -1) >= 0 else ""
    )
    io.write_json(failure, settings.out_dir(ds) / "_failures" / f"{name}.json")
    path = settings.out_dir(ds) / "run_report.json"
    report = io.read_json(path) if path.exists() else {"ds": ds}
    report |= {"status": "failed", "failures": failures(settings, ds)}
    io.write_json(report, path)


def import_facts(settings: Settings) -> dict | None:
    """What ``fusionloop import`` derived or assumed for this landing (issue 10);
    ``None`` when the landing came from the retailer's systems or the demo."""
    from pipeline.importer import read_manifest

    manifest = read_manifest(settings.landing)
    if manifest is None:
        return None
    consent = "assumed for all" if manifest["consent_assumed"] else "assumed for none"
    customers = (
        "from the CRM export"
        if manifest["customers_from_crm"]
        else "no CRM export: one customer per customer id on the order lines, no "
        "segmentation: markdowns target every consenting customer (segment "
        f"'all'); marketing consent {consent}"
    )
    return {
        "mapping": manifest["mapping"],
        "grain": manifest["grain"],
        "measure": manifest["measure"],
        "plan_assumptions": manifest["plan_assumptions"],
        "customers": customers,
        "notes": manifest["notes"],
    }


def _import_lines(facts: dict | None) -> list[str]:
    if not facts:
        return []
    lines = [
        "",
        f"imported with {facts['mapping']} ({facts['grain']} grain, measure "
        f"{facts['measure']}); customers: {facts['customers']}",
    ]
    if facts["plan_assumptions"]:
        lines.append(
            "  plan assumes (not exported): " + "; ".join(facts["plan_assumptions"])
        )
    return lines


def _without_password(url: str) -> str:
    """``url`` safe to print: a password in it is masked."""
    from sqlalchemy.engine import make_url

    return url if url.startswith("sqlite") else make_url(url).render_as_string()


def _marketing_lines(report: dict) -> list[str]:
    """Shrinks, the adjustments' expected effect, segment sizes and PScore."""
    pr, k = report["promotions"], report["kpi"]
    sizes = ", ".join(f"{s} {n:,}" for s, n in pr["segment_sizes"].items())
    return [
        f"  {pr['shrinks']} shrinks, {pr['prestock_requests']} pre-stock requests; "
        f"expected effect {pr['expected_units']:+,.1f} units, "
        f"{pr['margin_effect_eur']:+,.2f} EUR margin",
        f"customer segments: {sizes}",
        f"KPI report: PScore {k['pscore']:.1f}"
        + (f" (flagged: {', '.join(k['flagged_kpis'])})" if k["flagged_kpis"] else ""),
    ]


def _quality(source: str, counts: dict) -> dict:
    """Conservation per validated day, and why an older drop is used if it is.

    ``conservation`` lists every drop validated in this run (the first run on
    a market validates its whole history) with input = accepted + quarantined,
    checked here once more before the report is written.
    """
    days = counts.get("days_validated", [])
    for day in days:
        if day["input_rows"] != day["accepted_rows"] + day["quarantined_rows"]:
            raise AssertionError(f"{source} {day['ds']}: rows lost: {day}")
    return {"conservation": days, "fallback": counts.get("fallback")}


def format_summary(report: dict) -> str:
    """A short plain-text summary of a run report, for the terminal."""
    lines = [
        f"FusionLoop run for {report['ds']}",
        "",
        f"{'source':<22}{'read':>9}{'accepted':>10}{'quarantined':>13}  drop of",
    ]
    for name, s in report["sources"].items():
        lines.append(
            f"{name:<22}{s['input_rows']:>9,}{s['accepted_rows']:>10,}"
            f"{s['quarantined_rows']:>13,}  {s['snapshot_day']}"
        )
    lines += [
        f"  {name}: {s['fallback']}"
        for name, s in report["sources"].items()
        if s.get("fallback")
    ]
    m = report["forecast"]["metrics"]
    lgb, naive = m["lightgbm"], m["seasonal_naive"]
    lines += [
        "",
        f"forecast on the held-back days after {m['holdout_origin']} "
        f"({lgb['rows']:,} SKU-location-days, stock-out days excluded):",
        f"  LightGBM P50  WAPE {lgb['wape']:.3f}  bias {lgb['bias']:+.3f}  "
        f"P90 coverage {lgb['coverage_p90']:.2f}",
        f"  seasonal naive WAPE {naive['wape']:.3f}  bias {naive['bias']:+.3f}",
        f"  model {report['forecast']['model_version']} forecasts: "
        f"{report['forecast'].get('reason', '')}",
    ]
    p = report["plan"]
    lines += [
        "",
        f"replenishment plan: {p['order_lines']:,} order lines over the horizon "
        f"({p['order_lines_next_day']:,} to place tomorrow), "
        f"{p['order_cost_eur']:,.2f} EUR of {p['budget_eur']:,.0f} EUR budget "
        f"({p['solver']} {p['status']}, {p['variables']:,} variables, "
        f"solved in {p['solve_s']:.1f} s)",
    ]
    if p.get("forecast_bias"):
        lines.append(
            f"  expected demand taken as the P50 x "
            f"{mean_per_p50(p['forecast_bias']):.3f} (its model's holdout bias "
            f"was {p['forecast_bias']:+.3f})"
        )
    if p["binding"]:
        lines.append("  binding: " + "; ".join(p["binding"]))
    pr, wb = report["promotions"], report["write_back"]
    lines += [
        f"promotion adjustments: {pr['markdowns']} markdowns, {pr['pauses']} pauses; "
        f"write-back: {wb['rows']} rows, {wb['reason']}",
    ]
    lines += _marketing_lines(report)
    lines += _import_lines(report.get("import"))
    lines += [
        "",
        "outputs:",
    ] + [f"  {k}: {v}" for k, v in report["outputs"].items()]
    lines.append(
        f"  run_report: {report['outputs']['replenishment_plan'].rsplit('/', 1)[0]}"
        "/run_report.json"
    )
    return "\n".join(lines)
