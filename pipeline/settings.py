"""The one typed settings object; the only place that reads the environment.

Values come from defaults below, then an optional TOML file named by
``FUSION_CONFIG``, then ``FUSION_*`` environment variables, then keyword
overrides (e.g. from the Airflow params form).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

_REPO = Path(__file__).resolve().parent.parent
# Airflow's environment form of the connection ``fusion_marketing`` (a URI);
# used for the marketing database when FUSION_MARKETING_DB_URL is not set.
_AIRFLOW_MARKETING = "AIRFLOW_CONN_FUSION_MARKETING"


@dataclass(frozen=True)
class Settings:
    """Where FusionLoop reads and writes, and the knobs of the daily decisions."""

    fusion_home: Path = _REPO / "var"
    sql_dir: Path = _REPO / "sql"
    expectations_dir: Path = _REPO / "expectations"
    marketing_db_url: str = field(default="", repr=False)  # default: sqlite file
    horizon_days: int = 14  # longest demo lead time (7) + review period (7)
    service_level: float = 0.9  # protected demand quantile for the plan
    budget_eur: float = 60_000.0  # purchasing budget over the horizon
    train_window_days: int = 120  # forecast origins used for training
    holdout_days: int = 14  # last days held back to score the forecast
    overstock_days: float = 30.0  # days of P90 cover above which we mark down
    markdown_pct: float = 0.2  # markdown depth proposed for overstock
    markdown_days: int = 14  # how long a proposed markdown runs
    # Marketing side (issue 7): segments, promotion policy, KPI report.
    rfm_recency_weight: float = 0.30  # RFM weights, normalised to sum to 1
    rfm_frequency_weight: float = 0.35
    rfm_monetary_weight: float = 0.35
    prior_elasticity: float = 1.5  # where a category's history shows little
    max_markdown_pct: float = 0.4  # deepest markdown the policy proposes
    margin_floor_pct: float = 0.05  # markdown price >= unit cost x (1 + floor)
    ageing_days: int = 28  # stock unsold this long is marked down
    promo_budget_eur: float = 5_000.0  # discount money new markdowns may give
    target_segments: int = 1  # top-responding consenting segments per markdown
    kpi_weights: str = (  # PScore weights, normalised to sum to 1
        "customer_growth=0.25,conversion=0.30,arpc=0.15,promotion_roi=0.20,"
        "fill_rate=0.10"
    )
    kpi_targets: str = ""  # e.g. "conversion=0.5,fill_rate=0.95" over the defaults
    seed: int = 7
    duckdb_threads: int = 2
    duckdb_memory_limit: str = "4GB"
    solver_time_limit_s: float = 120.0
    # Replenishment optimiser and closed-loop simulation (issue 6).
    solver_mip_gap: float = 0.02  # relative MIP gap at which the plan is optimal
    order_cost_eur: float = 25.0  # fixed cost of one purchase order line
    budget_period_days: int = 0  # budget_eur per period: 0 = horizon, 1 day, 7 week
    sim_history_days: int = 120  # market history before a simulation starts
    # An overstock markdown may give this many EUR of discount per EUR of
    # holding cost it saves (1: it must pay for itself; inf: no such test).
    markdown_discount_per_holding_eur: float = 1.0
    sim_retrain_every_days: int = 7  # simulate: retrain weekly, reuse the model between
    # Order days with whole case packs and MOQ binaries; later days of the rolling
    # horizon are continuous at an EOQ-spread order cost (0: every day integer).
    plan_integer_order_days: int = 1
    # Cover past the horizon an order may bring (``models.lot_sizing.tail_units``):
    # at most this many days of demand, each unit worth this share of a lost sale.
    # Chosen on 90 S days, seed 7, from 7-56 days and shares 0.25-1.0; with the
    # floor below, 21 days cost 0.3 % less at a lower fill rate (BENCHMARKS.md,
    # "Closed loop: cover past the horizon and a floor on shortage").
    plan_tail_cover_days: float = 14.0
    plan_tail_value_share: float = 1.0
    # The plan's penalty per unit short of the service target is at least this
    # (EUR), however cheap the lost sale: the floor keeps slow movers in stock.
    plan_min_shortage_eur: float = 10.0
    # Each row's service target is its critical ratio lost / (lost + holding x
    # review days), kept between ``service_level`` and this cap.
    plan_max_service_level: float = 0.99
    plan_review_days: int = 7  # a unit of safety stock is held about this long
    # 1: plan on P50 / (1 + its model's holdout bias) as the expected demand
    # (0.5-2 x the P50, the P90 kept). Off: over 14 S days it cost 2-5 % more
    # for the same fill rate (BENCHMARKS.md, "Closed loop: what was tried").
    plan_forecast_bias_correction: int = 0
    pii_key: str = field(default="", repr=False)
    # Data quality gate (validation): when a batch is too bad to use at all.
    max_bad_row_share: float = 0.2  # more failing rows than this fails the drop
    min_row_share_of_previous: float = 0.25  # fewer rows than this x the last drop
    date_floor: str = "2015-01-01"  # dates before this are not believable

    # Demand forecasting (issue 5): holidays calendar, training origins,
    # how many training rows LightGBM sees at most.
    market_country: str = "DE"
    forecast_origin_step_days: int = 1
    max_training_rows: int = 20_000
    # ... or this many per SKU x location if more (M: 300,000; S keeps 20,000).
    training_rows_per_series: int = 15
    # A booster of expected units for the plan to protect from (``poisson``,
    # ``tweedie``, ``l2``); empty: none, the plan's mean is the P50. Off: over
    # 27 S days it lost twice the sales (BENCHMARKS.md, "what was tried").
    forecast_mean_objective: str = ""
    # 1: the boosters learn units / the series' recent uncensored mean (weighted
    # by it), one scale-free model from slow movers to the fastest sellers. Off:
    # 5 % dearer over 90 S days; on M it stops the fastest seller's forecast at
    # 20 units a day against 54 sold (BENCHMARKS.md, "what was tried").
    forecast_scale_target: int = 0
    # Scale (issue 8): how many raw rows validation holds in memory at once.
    validation_chunk_rows: int = 250_000
    training_read_rows: int = 1_000_000  # feature rows training reads at most
    # Operating (issue 9): the DAG's retry backoff, read when the DAG is parsed
    # (a test of retries shortens the first delay; production keeps minutes).
    retry_delay_s: float = 60.0  # first retry's wait; doubles on each retry
    max_retry_delay_s: float = 900.0  # the longest wait between tries

    @property
    def landing(self) -> Path:
        return self.fusion_home / "landing"

    @property
    def lake(self) -> Path:
        return self.fusion_home / "lake"

    @property
    def warehouse(self) -> Path:
        return self.fusion_home / "warehouse.duckdb"

    @property
    def registry(self) -> Path:
        return self.fusion_home / "registry"

    @property
    def sim_dir(self) -> Path:
        return self.fusion_home / "sim"

    @property
    def truth(self) -> Path:
        return self.fusion_home / "truth"

    def out_dir(self, ds: str) -> Path:
        return self.fusion_home / "out" / ds

    @property
    def marketing_url(self) -> str:
        return self.marketing_db_url or f"sqlite:///{self.fusion_home / 'marketing.db'}"

    def replace(self, **overrides) -> Settings:
        """Return a copy with the given fields changed (``None`` values ignored)."""
        return dataclasses.replace(
            self, **{k: v for k, v in overrides.items() if v is not None}
        )

    @classmethod
    def load(cls, **overrides) -> Settings:
        """Defaults < ``$FUSION_CONFIG`` TOML < ``FUSION_<FIELD>`` env < overrides.

        The home folder is ``FUSION_HOME``; other fields ``FUSION_<FIELD>``,
        e.g. ``FUSION_BUDGET_EUR=80000``. The marketing database URL, which
        may hold a password, comes from ``FUSION_MARKETING_DB_URL`` or else
        from the Airflow connection ``fusion_marketing`` given as
        ``AIRFLOW_CONN_FUSION_MARKETING``; never from a file in git.
        """
        values: dict = {}
        config = os.environ.get("FUSION_CONFIG")
        if config:
            values.update(tomllib.loads(Path(config).read_text()))
        for f in dataclasses.fields(cls):
            env = os.environ.get(_env_name(f.name))
            if env is not None:
                values[f.name] = env
        if "marketing_db_url" not in values and os.environ.get(_AIRFLOW_MARKETING):
            values["marketing_db_url"] = os.environ[_AIRFLOW_MARKETING]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**{k: _coerce(cls, k, v) for k, v in values.items()})


def fault_switch() -> str:
    """``FUSION_FAULT``: the crash point armed for a recovery test ('' = none).

    Read on every call (not a ``Settings`` field) because atomic writes deep
    in ``pipeline.io`` check it without a settings object; see
    ``pipeline.faults``.
    """
    return os.environ.get("FUSION_FAULT", "")


def fault_fired_dir() -> str:
    """``FUSION_FAULT_FIRED_DIR``: where fired faults leave markers ('' = none).

    With it set, each armed fault fires once (see ``pipeline.faults``).
    """
    return os.environ.get("FUSION_FAULT_FIRED_DIR", "")


def _env_name(field_name: str) -> str:
    """``fusion_home`` -> ``FUSION_HOME``; ``budget_eur`` -> ``FUSION_BUDGET_EUR``."""
    upper = field_name.upper()
    return upper if upper.startswith("FUSION_") else f"FUSION_{upper}"


def _coerce(cls, name: str, value):
    kinds = {f.name: f.type for f in dataclasses.fields(cls)}
    if name not in kinds:
        raise ValueError(f"unknown setting {name!r}; known: {sorted(kinds)}")
    kind = kinds[name]
    if kind == "Path":
        return Path(value)
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    return str(value)
