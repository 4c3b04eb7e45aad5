"""The seeded closed-loop demo market.

``generate`` makes a market and its history of extracts under ``landing/``;
``step`` simulates one more day, after applying what the pipeline decided the
day before (purchase orders from the plan, promotion adjustments from the
marketing database). The true expected demand goes to ``truth/``, which the
pipeline never reads.
"""

from __future__ import annotations

import logging
import shutil

import numpy as np
import pandas as pd

from pipeline import io
from pipeline.market import config as c
from pipeline.market import master
from pipeline.market.day import draw_demand, expected_demand, order_lines, sell
from pipeline.market.extracts import (
    add_dirty_rows,
    inventory_snapshot,
    release_lines,
    write_day,
)
from pipeline.market.feedback import apply_decisions
from pipeline.market.policy import reorder_point_orders
from pipeline.market.state import MarketState
from pipeline.settings import Settings

log = logging.getLogger(__name__)
_DERIVED = ("landing", "lake", "sim", "truth", "registry", "out")


def generate(settings: Settings, size="S", days=180, seed=7, end="2026-01-31"):
    """Create a market of ``size`` with ``days`` days of history ending on ``end``.

    Returns the market's metadata. Regenerating the same market is a no-op;
    a different one replaces everything under ``FUSION_HOME``.
    """
    home = settings.fusion_home
    end_ts = pd.Timestamp(end)
    start = end_ts - pd.Timedelta(days=days - 1)
    meta = {"seed": seed, "size": size, "start": f"{start:%Y-%m-%d}", "last_day": end}
    if (settings.sim_dir / "market.json").exists():
        if io.read_json(settings.sim_dir / "market.json") == meta:
            log.info("market %s already generated under %s", meta, home)
            return meta
    _wipe(settings)
    state = _new_state(size, seed, start, end_ts)
    for day in pd.date_range(start, end_ts):
        simulate_day(settings, state, day, snapshots=day == end_ts)
    state.last_day = end_ts
    state.save(settings.sim_dir)
    return meta


def step(settings: Settings, ds: str, policy="fusionloop", orders=None) -> dict:
    """Simulate the day ``ds`` after the last one, reacting to the pipeline.

    Under the ``fusionloop`` policy the orders come from yesterday's plan;
    otherwise ``orders`` (see ``simulate_day``; ``None``: the market's own
    reorder-point ops). Returns ``simulate_day``'s facts and the new state.
    """
    state = MarketState.load(settings.sim_dir)
    day = pd.Timestamp(ds)
    if day != state.last_day + pd.Timedelta(days=1):
        raise ValueError(
            f"the market's last day is {state.last_day:%Y-%m-%d}; "
            f"the next day to step is the day after, not {ds}"
        )
    if policy == "fusionloop":
        orders = apply_decisions(settings, state, day)
    facts = simulate_day(settings, state, day, snapshots=True, orders=orders)
    state.last_day = day
    state.save(settings.sim_dir)
    return facts | {"state": state}


def simulate_day(settings, state: MarketState, day, snapshots, orders=None) -> dict:
    """Receive stock, sell, export the day's extracts, then place purchase orders.

    ``orders`` is a frame of purchase orders, a function of (state, day, sales)
    that returns one after the day's sales (an end-of-day review), or ``None``
    for the market's own reorder-point ops. Returns the day's demand and sales
    (arrays SKU x location), the purchase orders placed and the promotions run.
    """
    rng = np.random.default_rng([state.seed, day.toordinal()])
    state.receive(day)
    lam = expected_demand(state, day)
    demand = draw_demand(lam, rng)
    sales = sell(state, demand)
    lines = order_lines(state, sales, day, rng)
    extract = add_dirty_rows(
        release_lines(state, lines, day, rng), c.DIRTY_ROW_RATE, rng
    )
    if orders is None:
        orders = reorder_point_orders(state, lam, day, rng)
    elif callable(orders):
        orders = orders(state, day, sales)
    state.purchase_orders = pd.concat(
        [state.purchase_orders, orders], ignore_index=True
    )
    folder = settings.landing / f"{day:%Y-%m-%d}"
    write_day(folder, state, day, extract, inventory_snapshot(state, day), snapshots)
    s, loc = np.indices(lam.shape)
    truth = pd.DataFrame(
        {
            "sku": state.products.sku.to_numpy()[s.ravel()],
            "location_id": state.locations.location_id.to_numpy()[loc.ravel()],
            "date": day,
            "expected_units": lam.ravel(),
            "sold_units": sales.ravel(),
        }
    )
    io.write_parquet(truth, settings.truth / f"ds={day:%Y-%m-%d}" / "part-0.parquet")
    return {"demand": demand, "sales": sales, "orders": orders}


def _new_state(size: str, seed: int, start, end) -> MarketState:
    dims = c.SIZES[size]
    rng = np.random.default_rng(seed)
    products = master.make_products(rng, dims.skus)
    locations = master.make_locations(rng, dims.locations, products)
    regions = sorted(set(locations.region))
    customers = master.make_customers(rng, dims.customers, start, regions)
    promos = master.make_promotions(rng, products, start, end + pd.Timedelta(days=365))
    lam0 = np.outer(products.base_rate, locations.demand_scale)
    lead = products.lead_time_days.to_numpy()[:, None]
    bulk = _bulk_buys(rng, lam0, start, end)
    return MarketState(
        seed=seed,
        size=size,
        start=start,
        last_day=start,
        products=products,
        locations=locations,
        customers=customers,
        promotions=promos,
        on_hand=np.ceil(lam0 * (lead + 10)).astype(np.int64),
        purchase_orders=bulk,
        pending=pd.DataFrame(),
    )


def _bulk_buys(rng, lam0: np.ndarray, start, end) -> pd.DataFrame:
    """Deals operations took: 60-90 days of demand landing in the last month."""
    s, loc = np.nonzero(rng.random(lam0.shape) < c.BULK_BUY_SHARE)
    days = max(1, min(30, (end - start).days))
    return pd.DataFrame(
        {
            "sku_idx": s.astype("int64"),
            "loc_idx": loc.astype("int64"),
            "qty": np.ceil(lam0[s, loc] * rng.uniform(60, 90, len(s))).astype("int64"),
            "arrival_date": end - pd.to_timedelta(rng.integers(0, days, len(s)), "D"),
        }
    )


def _wipe(settings: Settings) -> None:
    for name in _DERIVED:
        shutil.rmtree(settings.fusion_home / name, ignore_errors=True)
    for name in ("warehouse.duckdb", "warehouse.duckdb.wal", "marketing.db"):
        (settings.fusion_home / name).unlink(missing_ok=True)
