"""Rolling-origin backtest of the demand forecast against its baselines and peers.

``fusionloop backtest --size S --origins 4 --horizon 28`` cuts the market's
history at ``origins`` forecast origins whose ``horizon``-day windows abut and
end on the last day. At each origin every model sees only what was known then
and forecasts the next ``horizon`` days; all are scored on the same rows (days
not censored by a stock-out). Metrics pool the rows of every origin.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, replace

import pandas as pd

from models import demand
from pipeline import backtest_data as data
from pipeline import backtest_peers as peers
from pipeline import backtest_recursive as recursive
from pipeline import io
from pipeline.market import config as market_config
from pipeline.settings import Settings

log = logging.getLogger(__name__)
KEY = ["sku", "location_id", "target_date"]
STATS_WARMUP_DAYS = 91  # the longest rolling window of mart_demand_stats
HISTORY_DAYS = {"XS": 120, "S": 180, "M": 730}  # market generated for a backtest


def plan_origins(last_day: str, origins: int, horizon: int) -> list[str]:
    """Origins, earliest first, whose ``horizon``-day windows end on ``last_day``."""
    last = pd.Timestamp(last_day)
    return [
        f"{last - pd.Timedelta(days=horizon * k):%Y-%m-%d}"
        for k in range(origins, 0, -1)
    ]


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def _fusionloop_runs(train, test, configs: dict) -> dict:
    """Fit and predict each named LightGBM config; returns name -> (pred, fit, pred)."""
    runs = {}
    for name, config in configs.items():
        model, fit_s = _timed(lambda c=config: demand.fit(train, c))
        pred, predict_s = _timed(lambda m=model: demand.predict(m, test))
        runs[name] = (pred, fit_s, predict_s)
    return runs


def _recursive_run(con, settings, origin, horizon, config, test) -> tuple:
    """The one-step model fed its own forecasts, scored on the direct's rows."""
    model, fit_s = _timed(lambda: recursive.fit_one_step(con, settings, origin, config))
    pred, predict_s = _timed(
        lambda: recursive.forecast(con, settings, model, origin, horizon)
    )
    on_test = test[KEY].merge(pred, on=KEY, how="left").set_index(test.index)
    return on_test[["p50_units", "p90_units"]], fit_s, predict_s


def _baseline_runs(test) -> dict:
    oracle = demand.oracle_quantiles(
        test.expected_units, market_config.DEMAND_GAMMA_SHAPE
    ).set_index(test.index)
    naive = {
        "seasonal_naive": demand.seasonal_naive(test),
        "moving_average": demand.moving_average(test),
    }
    runs = {
        name: (pd.DataFrame({"p50_units": p}, index=test.index), 0.0, 0.0)
        for name, p in naive.items()
    }
    return runs | {"oracle": (oracle, 0.0, 0.0)}


def _peer_runs(con, settings, test, origin, horizon, installed, threads) -> dict:
    """The peers fit on the same days of history the FusionLoop features see."""
    lookback = settings.train_window_days + horizon + STATS_WARMUP_DAYS
    history = con.execute(
        "select * from mart_demand_daily where sales_date <= cast($o as date) "
        "and sales_date > cast($o as date) - to_days(cast($d as integer)) "
        "order by sku, location_id, sales_date",
        {"o": origin, "d": lookback},
    ).df()
    frame = peers.long_frame(history)
    calls = {
        "mlforecast": lambda: peers.mlforecast_predict(
            frame, horizon, settings.seed, threads
        ),
        "statsforecast": lambda: peers.statsforecast_predict(frame, horizon, threads),
    }
    runs = {}
    for name, call in calls.items():
        if not installed[name]:
            continue
        pred, seconds = _timed(call)
        on_test = test[KEY].merge(pred, on=KEY, how="left").set_index(test.index)
        runs[name] = (on_test[["p50_units", "p90_units"]].fillna(0.0), seconds, 0.0)
    return runs


def _check_market(settings: Settings, size: str) -> dict:
    path = settings.sim_dir / "market.json"
    if not path.exists():
        raise FileNotFoundError(
            f"no market under {settings.fusion_home}: run `fusionloop demo --size "
            f"{size}` (or `fusionloop backtest --generate`)"
        )
    meta = io.read_json(path)
    if meta["size"] != size:
        raise ValueError(
            f"{path}: the market is size {meta['size']}, not {size}; point "
            "FUSION_HOME at a folder holding a market of that size"
        )
    return meta


def _open_window(settings: Settings, meta: dict, first_origin: str, horizon: int):
    """The history every origin needs, its load seconds, and the true demand
    of the scored days: ``(connection, seconds, truth frame)``."""
    lookback = settings.train_window_days + horizon + STATS_WARMUP_DAYS
    first = pd.Timestamp(first_origin)
    start = max(pd.Timestamp(meta["start"]), first - pd.Timedelta(days=lookback))
    con, load_s = _timed(
        lambda: data.open_history(settings, f"{start:%Y-%m-%d}", meta["last_day"])
    )
    truth = data.true_expected_demand(
        settings, f"{first + pd.Timedelta(days=1):%Y-%m-%d}", meta["last_day"]
    )
    return con, load_s, truth


def run_backtest(
    settings: Settings,
    size: str,
    origins: int = 4,
    horizon: int = 28,
    origin_step_days: int = 7,
    objectives: tuple[str, ...] = ("quantile",),
    base: demand.DemandModelConfig | None = None,
    peer_names: tuple[str, ...] = peers.PEERS,
    recursive_too: bool = False,
) -> dict:
    """Backtest every model on the market of ``size``; returns the results dict.

    The first of ``objectives`` is ``fusionloop``; the others run as
    ``fusionloop_<objective>`` on the same rows, to choose by measurement, and
    ``recursive_too`` adds ``fusionloop_recursive`` (the base config, recursive
    multi-step). Peers not in ``peer_names`` are skipped (and reported so).
    """
    meta = _check_market(settings, size)
    settings = settings.replace(horizon_days=horizon)
    base = base or demand.DemandModelConfig(
        seed=settings.seed, max_training_rows=settings.max_training_rows
    )
    configs = {
        ("fusionloop" if i == 0 else f"fusionloop_{obj}"): replace(
            base, point_objective=obj
        )
        for i, obj in enumerate(objectives)
    }
    cuts = plan_origins(meta["last_day"], origins, horizon)
    con, load_s, truth = _open_window(settings, meta, cuts[0], horizon)
    installed = {
        name: ok if name in peer_names else None
        for name, ok in peers.available().items()
    }
    scored, train_rows = [], 0
    for i, origin in enumerate(cuts):
        log.info("backtest origin %s (%d/%d)", origin, i + 1, len(cuts))
        train, test = data.origin_rows(
            con, settings, origin, origin_step_days, base.max_training_rows, i == 0
        )
        test = test.merge(
            data.mase_scale(con, settings, origin), on=KEY[:2], how="left"
        ).merge(truth, on=KEY, how="left")
        runs = (
            _fusionloop_runs(train, test, configs)
            | _baseline_runs(test)
            | _peer_runs(
                con, settings, test, origin, horizon, installed, base.num_threads
            )
        )
        if recursive_too:
            runs["fusionloop_recursive"] = _recursive_run(
                con, settings, origin, horizon, base, test
            )
        scored.append((test, runs))
        train_rows += len(train)
    con.close()
    return {
        "size": size,
        "market": meta,
        "origins": cuts,
        "horizon_days": horizon,
        "origin_step_days": origin_step_days,
        "train_window_days": settings.train_window_days,
        "history_load_s": round(load_s, 2),
        "training_rows": train_rows,
        "config": asdict(base),
        "models": _metrics(
            scored,
            list(configs) + ["fusionloop_recursive"] * recursive_too,
            installed,
        ),
    }


_PEER_STATUS = {
    False: "not installed (run `make bench-install`)",
    None: "skipped (not in --peers)",
}


def _metrics(scored, fusion_names, installed) -> dict:
    """Pool each model's rows over the origins into one set of metrics."""
    names = fusion_names + ["seasonal_naive", "moving_average", "oracle"]
    out = {}
    for name in names + list(peers.PEERS):
        if name in peers.PEERS and not installed[name]:
            out[name] = {"status": _PEER_STATUS[installed[name]]}
            continue
        tests = pd.concat([t for t, _ in scored], ignore_index=True)
        preds = pd.concat([runs[name][0] for _, runs in scored], ignore_index=True)
        metrics = demand.accuracy(
            tests.target_units,
            preds.p50_units,
            preds.get("p90_units"),
            mase_scale=tests.mase_scale.fillna(0),
        )
        out[name] = {k: round(v, 4) for k, v in metrics.items()} | {
            "fit_s": round(sum(runs[name][1] for _, runs in scored), 2),
            "predict_s": round(sum(runs[name][2] for _, runs in scored), 2),
            "status": "ok",
        }
    return out


COLUMNS = [
    ("wape", "WAPE"),
    ("bias", "bias"),
    ("mase", "MASE"),
    ("pinball_p90", "P90 pinball"),
    ("coverage_p90", "P90 coverage"),
    ("fit_s", "fit s"),
    ("predict_s", "predict s"),
]


def format_results(results: dict) -> str:
    """The models' metrics as a markdown table (``-`` where a model has none)."""
    head = "| model | " + " | ".join(label for _, label in COLUMNS) + " |"
    lines = [head, "| --- |" + " ---: |" * len(COLUMNS)]
    for name, m in results["models"].items():
        if m["status"] != "ok":
            lines.append(f"| {name} | {m['status']} |" + " |" * (len(COLUMNS) - 1))
            continue
        cells = [str(m[key]) if key in m else "-" for key, _ in COLUMNS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
