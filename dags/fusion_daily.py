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
   naive on held-back days), then `forecast_demand` over the horizon, mapped
   over the regions of the ERP's locations (`list_regions`).
4. **decide**: `plan_region` (PuLP MILP on HiGHS per location, mapped over the
   regions) and `plan_replenishment`, which joins them (re-solving where the
   budget binds across locations) into `out/<ds>/replenishment_plan.csv`;
   `adjust_promotions` proposes markdowns for overstock and shrinks or pauses
   for stock-out risk.
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

    @task
    def list_regions(run: dict, features: dict) -> list[str]:
        """The regions of the warehouse's locations: the shards mapped below."""
        from pipeline import daily

        return daily.regions(_settings(run))

    @task_group
    def forecast(run: dict, features: dict, regions: list):
        """Train the demand model, then forecast P50/P90 per region."""

        @task
        def train_demand_model(run: dict, features: dict) -> dict:
            """LightGBM P50/P90 challenger in `registry/<ds>/`; kept if no worse."""
            from pipeline import daily

            return daily.train_demand_model(_settings(run), run["ds"])

        @task(
            map_index_template="{{ task.op_kwargs['region'] }}",
            doc_md="P50/P90 per SKU x store x day of one region's stores -> "
            "`lake/forecast/ds=<ds>/region=<region>/`.",
        )
        def forecast_demand(region: str, run: dict, model: dict) -> dict:
            from pipeline import daily

            version = model["model_version"]
            return daily.forecast_demand(_settings(run), run["ds"], version, region)

        model = train_demand_model(run, features)
        shards = forecast_demand.partial(run=run, model=model).expand(region=regions)
        return {"model": model, "forecast": shards}

    @task_group
    def decide(run: dict, forecasted: dict):
        """Plan replenishment, then adjust promotions to what operations can supply."""

        @task(
            map_index_template="{{ task.op_kwargs['forecasted']['region'] }}",
            doc_md="One MILP per store of the region, each with the whole budget.",
        )
        def plan_region(forecasted: dict, run: dict) -> dict:
            from pipeline import daily

            return daily.plan_region(_settings(run), run["ds"], forecasted["region"])

        @task(outlets=[PLANS])
        def plan_replenishment(run: dict, shards: list) -> dict:
            """The regions' plans joined, within budget -> `replenishment_plan.csv`."""
            from pipeline import daily

            return daily.plan_replenishment(_settings(run), run["ds"])

        @task
        def adjust_promotions(run: dict, plan: dict) -> dict:
            """Markdowns for overstock, pauses for stock-out risk."""
            from pipeline import daily

            return daily.adjust_promotions(_settings(run), run["ds"])

        shards = plan_region.partial(run=run).expand(forecasted=forecasted)
        return adjust_promotions(run, plan_replenishment(run, shards))

    @task(outlets=[MARKETING])
    def write_back(run: dict, model: dict, adjusted: dict) -> dict:
        """Exactly-once upsert into marketing's `promotion_adjustments`; reports."""
        from pipeline import daily

        return daily.write_back(_settings(run), run["ds"], model["model_version"])

    run = resolve_run()
    features = build_features(run, ingest(run))
    forecasted = forecast(run, features, list_regions(run, features))
    write_back(run, forecasted["model"], decide(run, forecasted["forecast"]))


fusion_daily()
