"""The closed-loop benchmark: N market days under one ordering policy, with KPIs.

Every policy starts from the same seeded market (same history, same seed) and
the market draws each day's demand from a generator seeded by (seed, day), so
policies that leave the promotions alone face the very same demand draws.

- ``fusionloop``: the day's pipeline as the DAG runs it (``daily.run_day``, no
  Airflow) on the day's extracts; the market then places the plan's orders for
  the next day and runs marketing's promotions as adjusted in its database.
  The demand model is retrained every ``sim_retrain_every_days`` and reused in
  between (``daily.reuse_demand_model``).
- ``baseline``: what a retailer does today, ``policy.moving_average_orders``
  reviewed each evening; promotions as marketing planned them.
- ``perfect``: the optimiser fed the demand the market is going to draw over
  the horizon (replayed from the same generators) and the true stock; the
  lower bound on cost any forecast could reach with this optimiser.
- ``oracle``: the optimiser fed the market's true demand distribution (each
  day's expected units and spread, not the draws) and the true stock: what a
  perfect forecast would give. Between it and ``perfect`` lies the cost of
  the demand's randomness, which no forecast removes; between ``fusionloop``
  and it, the cost of the forecast and the extracts.

Results go to ``<home>/out/_simulation/``: ``kpis_daily.csv`` and
``totals.json``, where ``<home>`` is ``FUSION_HOME/simulate/<size>-seed<seed>-
<policy>``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd

from models.demand import oracle_quantiles
from pipeline import io, market
from pipeline.market.config import DEMAND_GAMMA_SHAPE
from pipeline.market.day import draw_demand, expected_demand
from pipeline.market.kpis import day_kpis, totals
from pipeline.market.policy import moving_average_orders
from pipeline.market.state import MarketState
from pipeline.settings import Settings

log = logging.getLogger(__name__)
POLICIES = ("fusionloop", "baseline", "perfect", "oracle")
BASELINE_WINDOW_DAYS = 28


@dataclass(frozen=True)
class SimConfig:
    """One simulation: which policy, how many days, which market."""

    policy: str
    days: int
    size: str = "S"
    seed: int = 7
    end: str = "2026-01-31"  # last day of history; simulation starts the day after


def simulation_home(settings: Settings, cfg: SimConfig) -> Path:
    return settings.fusion_home / "simulate" / f"{cfg.size}-seed{cfg.seed}-{cfg.policy}"


def simulate(settings: Settings, cfg: SimConfig, resume: bool = False) -> dict:
    """Run ``cfg.days`` market days under ``cfg.policy``; returns the totals.

    Starts from a freshly generated market, so a rerun gives the same figures;
    with ``resume`` it goes on from the last day an earlier run of the same
    market completed (see ``completed_days``), with the same result as one
    uninterrupted run. Writes the daily KPIs and totals under the policy's home.
    """
    if cfg.policy not in POLICIES:
        raise ValueError(f"unknown policy {cfg.policy!r}; known: {POLICIES}")
    s = settings.replace(fusion_home=simulation_home(settings, cfg))
    folder = s.out_dir("_simulation")
    rows = completed_days(s, cfg) if resume else []
    if rows:
        _check_same_settings(s, folder / "settings.json")
        log.info(
            "%s: resuming after day %d, %s", cfg.policy, len(rows), rows[-1]["date"]
        )
    else:
        market.generate(s, cfg.size, settings.sim_history_days, cfg.seed, cfg.end)
        io.write_json(decision_settings(s), folder / "settings.json")
    from pipeline.planning import plan_config

    decide = _POLICY_MAKERS[cfg.policy](s)
    goodwill = plan_config(s).lost_sale_goodwill_pct
    day = pd.Timestamp(cfg.end) + pd.Timedelta(days=len(rows))
    for k in range(len(rows), cfg.days):
        ds, day = f"{day:%Y-%m-%d}", day + pd.Timedelta(days=1)
        orders = decide(ds, k)
        step_policy = "fusionloop" if cfg.policy == "fusionloop" else "given"
        facts = market.step(s, f"{day:%Y-%m-%d}", step_policy, orders)
        rows.append(day_kpis(facts["state"], day, facts, s.order_cost_eur, goodwill))
        log.info("%s %s: %s", cfg.policy, rows[-1]["date"], _brief(rows[-1]))
        # Written every day, so a long run shows its progress.
        io.write_csv(pd.DataFrame(rows), folder / "kpis_daily.csv")
    daily = pd.DataFrame(rows)
    result = {"policy": cfg.policy, "size": cfg.size, "seed": cfg.seed} | totals(daily)
    io.write_json(result, folder / "totals.json")
    return result


def completed_days(settings: Settings, cfg: SimConfig) -> list[dict]:
    """The KPI rows of the days an earlier run of this market completed.

    ``[]`` when there is no earlier run. Raises when the market on disk is not
    ``cfg``'s or its state and KPIs disagree (a run stopped between the two
    writes), since going on from there would not give an uninterrupted run's
    figures.
    """
    meta_file = settings.sim_dir / "market.json"
    daily_file = settings.out_dir("_simulation") / "kpis_daily.csv"
    if not meta_file.exists() or not daily_file.exists():
        return []
    meta = io.read_json(meta_file)
    start = pd.Timestamp(cfg.end) - pd.Timedelta(days=settings.sim_history_days - 1)
    # round_trip: the very floats written, so the totals add up as in one run
    rows = pd.read_csv(daily_file, float_precision="round_trip").to_dict("records")
    expected_last = pd.Timestamp(cfg.end) + pd.Timedelta(days=len(rows))
    market_is = (meta["size"], meta["seed"], meta["start"])
    if market_is != (cfg.size, cfg.seed, f"{start:%Y-%m-%d}"):
        raise ValueError(
            f"cannot resume: the market under {settings.fusion_home} is size "
            f"{meta['size']}, seed {meta['seed']}, history from {meta['start']}; "
            f"this run wants {cfg.size}, seed {cfg.seed}, history from {start:%Y-%m-%d}"
        )
    if len(rows) > cfg.days:
        raise ValueError(
            f"cannot resume: {daily_file} already has {len(rows)} days, more than "
            f"the {cfg.days} asked for"
        )
    if pd.Timestamp(meta["last_day"]) != expected_last:
        raise ValueError(
            f"cannot resume: {daily_file} has {len(rows)} days (to "
            f"{expected_last:%Y-%m-%d}) but the market stands at {meta['last_day']}; "
            "run again without --resume"
        )
    return rows


# Settings that change how fast a day runs, not what it decides.
_NOT_DECISIONS = {"duckdb_threads", "duckdb_memory_limit", "retry_delay_s"}
_NOT_DECISIONS |= {"max_retry_delay_s"}


def decision_settings(settings: Settings) -> dict:
    """The settings a simulated day's decisions depend on (no paths, no secrets)."""
    return {
        f.name: getattr(settings, f.name)
        for f in fields(settings)
        if f.repr
        and f.name not in _NOT_DECISIONS
        and not isinstance(getattr(settings, f.name), Path)
    }


def _check_same_settings(settings: Settings, path: Path) -> None:
    """Refuse to resume a run under other decision settings than it started with."""
    if not path.exists():  # a run started before the file was written
        log.warning("%s missing: cannot check the resumed run's settings", path)
        return
    before, now = io.read_json(path), decision_settings(settings)
    changed = sorted(
        k for k in before.keys() | now.keys() if before.get(k) != now.get(k)
    )
    if changed:
        diffs = ", ".join(f"{k}: {before.get(k)!r} -> {now.get(k)!r}" for k in changed)
        raise ValueError(
            f"cannot resume: the run started with other settings ({diffs}); "
            "set them back, or run again without --resume"
        )


def _brief(row: dict) -> str:
    return (
        f"sold {row['sold_units']}/{row['demand_units']} units, "
        f"cost {row['total_cost_eur']:,.0f} EUR"
    )


def _fusionloop(settings: Settings):
    """Run the day's pipeline; the market reads its plan and adjustments itself."""
    from pipeline.daily import run_day

    model: dict = {}

    def decide(ds: str, k: int) -> None:
        retrain = k % max(settings.sim_retrain_every_days, 1) == 0
        if not retrain and "v" not in model:  # resumed: the model the day before used
            yesterday = pd.Timestamp(ds) - pd.Timedelta(days=1)
            report = io.read_json(
                settings.out_dir(f"{yesterday:%Y-%m-%d}") / "run_report.json"
            )
            model["v"] = report["forecast"]["model_version"]
        report = run_day(settings, ds, reuse_model=None if retrain else model["v"])
        model["v"] = report["forecast"]["model_version"]
        return None

    return decide


def _baseline(settings: Settings):
    """Reorder point from the last 28 days' sales, reviewed after each day."""
    state = MarketState.load(settings.sim_dir)
    truth = pd.read_parquet(settings.truth)
    # A run stopped inside a market step may have written the next day's truth
    # before its state: the window ends on the state's last day.
    truth = truth[truth.date <= state.last_day]
    window = _sales_window(state, truth, BASELINE_WINDOW_DAYS)

    def review(state: MarketState, day, sales: np.ndarray) -> pd.DataFrame:
        nonlocal window
        window = np.concatenate([window[1:], sales[None]])
        return moving_average_orders(state, window, day, settings.service_level)

    return lambda ds, k: review


def _sales_window(state: MarketState, truth: pd.DataFrame, days: int) -> np.ndarray:
    """Units sold over the last ``days`` days of history, shape (days, SKUs, locs)."""
    last = truth[truth.date > truth.date.max() - pd.Timedelta(days=days)]
    grid = last.pivot_table(
        index="date", columns=["sku", "location_id"], values="sold_units"
    )
    cols = pd.MultiIndex.from_product([state.products.sku, state.locations.location_id])
    flat = grid.reindex(columns=cols).fillna(0).to_numpy()
    return flat.reshape(len(grid), len(state.products), len(state.locations))


def _perfect(settings: Settings):
    """Plan on the true stock with the demand the market will draw."""
    return _plan_on_truth(settings, true_demand)


def _oracle(settings: Settings):
    """Plan on the true stock with the demand's true distribution, not its draws."""
    return _plan_on_truth(settings, true_distribution)


def _plan_on_truth(settings: Settings, demand_of):
    """Each day, the optimiser on the market's true stock and ``demand_of``'s
    forecast frame (``demand_of(state, ds, horizon_days)``)."""
    from models.replenishment_blocks import solve_by_location
    from pipeline.planning import plan_config

    cfg = plan_config(settings)

    def decide(ds: str, k: int) -> pd.DataFrame:
        state = MarketState.load(settings.sim_dir)
        forecast = demand_of(state, ds, cfg.horizon_days)
        lines, report = solve_by_location(true_position(state, ds), forecast, ds, cfg)
        blocks = report["blocks"].values()
        stopped = sum(b.get("highs_status") == "Time limit reached" for b in blocks)
        unbounded = sum("mip_gap" in b and b["mip_gap"] is None for b in blocks)
        log.info(
            "%s plan: %d stores, %d stopped at the time limit (%d without a bound)",
            ds,
            len(blocks),
            stopped,
            unbounded,
        )
        return plan_orders(state, lines, pd.Timestamp(ds) + pd.Timedelta(days=1))

    return decide


def true_distribution(state: MarketState, ds: str, horizon_days: int) -> pd.DataFrame:
    """The market's own demand model over the next days, as a forecast frame.

    ``mean_units`` is the true mean and ``p50_units`` the true median of the
    gamma-Poisson draw (variance mean + mean^2 / shape). The plan's normal
    model reads a day's spread as (P90 - P50) / z(0.9), so ``p90_units`` is
    the median plus z(0.9) true standard deviations: the plan gets the true
    mean and spread (a skewed draw's true P90 lies below it).
    """
    z90 = NormalDist().inv_cdf(0.9)
    frames = []
    for h in range(1, horizon_days + 1):
        lam = expected_demand(state, pd.Timestamp(ds) + pd.Timedelta(days=h)).ravel()
        sd = np.sqrt(lam + lam**2 / DEMAND_GAMMA_SHAPE)
        median = oracle_quantiles(lam, DEMAND_GAMMA_SHAPE).p50_units.to_numpy()
        frames.append(
            _cells(state).assign(
                horizon_day=h,
                mean_units=lam,
                p50_units=median,
                p90_units=median + z90 * sd,
            )
        )
    return pd.concat(frames, ignore_index=True)


def true_demand(state: MarketState, ds: str, horizon_days: int) -> pd.DataFrame:
    """The units the market will draw on each of the next days, as a forecast frame.

    Replays each day's generator; exact while promotions stay as planned.
    """
    frames = []
    for h in range(1, horizon_days + 1):
        day = pd.Timestamp(ds) + pd.Timedelta(days=h)
        rng = np.random.default_rng([state.seed, day.toordinal()])
        units = draw_demand(expected_demand(state, day), rng).astype(float)
        frames.append(_cells(state).assign(horizon_day=h, p50_units=units.ravel()))
    out = pd.concat(frames, ignore_index=True)
    return out.assign(p90_units=out.p50_units)


def true_position(state: MarketState, ds: str) -> pd.DataFrame:
    """The stock position the plan needs, read from the market's own state."""
    p = state.products.set_index("sku")
    loc = state.locations.set_index("location_id")
    on_order, first = state.on_order()
    cells = _cells(state)
    return cells.assign(
        on_hand_units=state.on_hand.ravel(),
        on_order_units=on_order.ravel(),
        on_order_arrival_date=first.ravel(),
        unit_cost_eur=p.unit_cost.reindex(cells.sku).to_numpy(),
        list_price_eur=p.list_price.reindex(cells.sku).to_numpy(),
        lead_time_days=p.lead_time_days.reindex(cells.sku).to_numpy(),
        moq_units=p.moq.reindex(cells.sku).to_numpy(),
        case_pack_units=p.case_pack.reindex(cells.sku).to_numpy(),
        capacity_units=loc.capacity_units.reindex(cells.location_id).to_numpy(),
        holding_cost_eur_per_unit_day=loc.holding_cost_per_unit_day.reindex(
            cells.location_id
        ).to_numpy(),
    )


def _cells(state: MarketState) -> pd.DataFrame:
    """SKU x location pairs in the market's array order (SKU-major)."""
    s, loc = np.indices(state.on_hand.shape)
    return pd.DataFrame(
        {
            "sku": state.products.sku.to_numpy()[s.ravel()],
            "location_id": state.locations.location_id.to_numpy()[loc.ravel()],
        }
    )


def plan_orders(state: MarketState, lines: pd.DataFrame, day) -> pd.DataFrame:
    """The plan's lines to place on ``day`` as the market's purchase orders."""
    today = lines[lines.order_date == day]
    sku = state.sku_index(today.sku)
    lead = state.products.lead_time_days.to_numpy()[sku]
    return pd.DataFrame(
        {
            "sku_idx": sku.astype("int64"),
            "loc_idx": pd.Index(state.locations.location_id)
            .get_indexer(today.location_id)
            .astype("int64"),
            "qty": today.order_qty_units.to_numpy().astype("int64"),
            "arrival_date": day + pd.to_timedelta(lead, "D"),
        }
    )


_POLICY_MAKERS = {
    "fusionloop": _fusionloop,
    "baseline": _baseline,
    "perfect": _perfect,
    "oracle": _oracle,
}
