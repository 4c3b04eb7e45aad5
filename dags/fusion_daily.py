"""
# fusion_daily

FusionLoop's daily closed loop between marketing and operations.

1. **ingest**: `extract_source` copies each landing drop (CRM, ERP, orders,
   marketing) into `lake/raw/` as Parquet, pseudonymising PII;
   `validate_source` casts rows to the contract and runs the source's Great
   Expectations suite from `expectations/`. Bad rows go to `lake/quarantine/`
   with the rule they broke; a bad file fails its task with the file, rule and fix.
2. **features**: `build_features` builds `warehouse.duckdb` from `sql/staging`
   and `sql/marts`, after the first day only where the new drops changed it
   (one writer at a time: pool `duckdb_writer`).
3. **forecast**: `train_demand_model` (LightGBM P50/P90, scored against seasonal
   naive on held-back days) and `forecast_demand` over the horizon.
4. **decide**: `plan_replenishment` (PuLP MILP on HiGHS) writes
   `out/<ds>/replenishment_plan.csv`; `adjust_promotions` proposes markdowns for
   overstock and shrinks or pauses for stock-out risk.
5. **write_back**: upserts the adjustments into marketing's database exactly
   once; writes `out/<ds>/kpi_report.html` and `out/<ds>/run_report.json`.

**Params**: `run_date` (default: the run's logical date), `horizon_days`,
`service_level`, `budget_eur` (empty = the configured default). Every task is
idempotent for its run date: re-runs and backfills are safe.

**Operating**: one run at a time (`max_active_runs=1`; backfill with
`airflow backfill create --max-active-runs 1`, backfills have their own limit).
Transient errors are retried twice with exponential backoff; a bad file or
setting fails at once. A failed task's log ends with what failed, on which
input and what to do, and `out/<ds>/run_report.json` records it.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Asset, dag, task, task_group

from pipeline import dag_policy
from pipeline.sources import SOURCES

LAKE = Asset("fusionloop_lake")
WAREHOUSE = Asset("fusionloop_warehouse")
PLANS = Asset("fusionloop_plans")
MARKETING = Asset("fusionloop_marketing_adjustments")
DECISION_PARAMS = dag_policy.DECISION_PARAMS


def _settings(run: dict):
    from pipeline.settings import Settings

    return Settings.load(**{k: run.get(k) for k in DECISION_PARAMS})


@dag(
    dag_id="fusion_daily",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    # Retries with backoff for transient errors only; failures to the run report.
    default_args=dag_policy.default_args(),
    params=dag_policy.params(),
    tags=["fusionloop"],
    doc_md=__doc__,
)
def fusion_daily():
    @task
    def resolve_run(params=None, ds=None) -> dict:
        """Pick the run date (param, else logical date) and the decision settings."""
        run_date = params.get("run_date") or ds
        if not run_date:
            raise ValueError("no run date: set the run_date param or a logical date")
        return {"ds": run_date} | {k: params.get(k) for k in DECISION_PARAMS}

    @task_group
    def ingest(run: dict):
        """Extract each source into the lake, then validate it."""

        @task(
            map_index_template="{{ task.op_kwargs['source'] }}",
            doc_md="Landing drop -> `lake/raw/<source>/ds=<day>/` (PII pseudonymised).",
        )
        def extract_source(source: str, run: dict) -> dict:
            from pipeline import daily

            return daily.extract(_settings(run), source, run["ds"])

        @task(
            outlets=[LAKE],
            map_index_template="{{ task.op_kwargs['extracted']['source'] }}",
            doc_md="Cast + GX suite; bad rows to `lake/quarantine/` with their rule.",
        )
        def validate_source(extracted: dict, run: dict) -> dict:
            from pipeline import daily

            return daily.validate(_settings(run), extracted)

        extracted = extract_source.partial(run=run).expand(source=list(SOURCES))
        return validate_source.partial(run=run).expand(extracted=extracted)

    @task(pool="duckdb_writer", outlets=[WAREHOUSE])
    def build_features(run: dict, validated: list) -> dict:
        """Build the DuckDB warehouse from the clean lake (staging -> marts)."""
        from pipeline import daily

        return daily.build_features(_settings(run), run["ds"])

    @task_group
    def forecast(run: dict, features: dict):
        """Train the demand model, then forecast P50/P90 over the horizon."""

        @task
        def train_demand_model(run: dict, features: dict) -> dict:
            """LightGBM P50/P90 challenger in `registry/<ds>/`; kept if no worse."""
            from pipeline import daily

            return daily.train_demand_model(_settings(run), run["ds"])

        @task
        def forecast_demand(run: dict, model: dict) -> dict:
            """P50/P90 units per SKU x location x day -> `lake/forecast/ds=<ds>/`."""
            from pipeline import daily

            return daily.forecast_demand(
                _settings(run), run["ds"], model["model_version"]
            )

        model = train_demand_model(run, features)
        return {"model": model, "forecast": forecast_demand(run, model)}

    @task_group
    def decide(run: dict, forecasted: dict):
        """Plan replenishment, then adjust promotions to what operations can supply."""

        @task(outlets=[PLANS])
        def plan_replenishment(run: dict, forecasted: dict) -> dict:
            """MILP plan under capacity and budget -> `replenishment_plan.csv`."""
            from pipeline import daily

            return daily.plan_replenishment(_settings(run), run["ds"])

        @task
        def adjust_promotions(run: dict, plan: dict) -> dict:
            """Markdowns for overstock, pauses for stock-out risk."""
            from pipeline import daily

            return daily.adjust_promotions(_settings(run), run["ds"])

        return adjust_promotions(run, plan_replenishment(run, forecasted))

    @task(outlets=[MARKETING])
    def write_back(run: dict, model: dict, adjusted: dict) -> dict:
        """Exactly-once upsert into marketing's `promotion_adjustments`; reports."""
        from pipeline import daily

        return daily.write_back(_settings(run), run["ds"], model["model_version"])

    run = resolve_run()
    forecasted = forecast(run, build_features(run, ingest(run)))
    write_back(run, forecasted["model"], decide(run, forecasted["forecast"]))


fusion_daily()
