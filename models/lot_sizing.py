"""Lot sizing: the economic order quantity and the cover past the horizon.

The plan's horizon ends, demand does not. ``tail_units`` is the stock each
SKU x store wants left at the horizon's end (the rest of an economic lot),
``add_tail`` prices a unit short of it in the MILP; see ``tail_units``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pulp

from models.service import shortage_eur

if TYPE_CHECKING:
    from models.replenishment import Instance, PlanConfig


def economic_order_units(pos: pd.DataFrame, cfg: PlanConfig) -> np.ndarray:
    """Units of one economic order per row: sqrt(2 x daily demand x order cost /
    holding per unit-day), at least the MOQ and one case pack."""
    daily = pos.mean_daily_units.to_numpy()
    hold = np.maximum(pos.holding_cost_eur_per_unit_day.to_numpy(), 1e-6)
    eoq = np.sqrt(2 * np.maximum(daily, 1e-3) * cfg.order_cost_eur / hold)
    return np.maximum.reduce(
        [eoq, pos.moq_units.to_numpy(), pos.case_pack_units.to_numpy()]
    )


def tail_units(pos: pd.DataFrame, cfg: PlanConfig) -> np.ndarray:
    """Units of cover past the horizon an order should bring, per row.

    The horizon ends, demand does not: a plan that values only the horizon's
    sales never orders a slow mover whose next two weeks hold one sale (the
    order's fixed cost beats one lost sale), so the rolling plan lets it run
    out again and again. An order is worth the whole lot it brings: the
    economic order quantity (at least the MOQ and a case pack) less what the
    lot covers inside the horizon after the SKU's lead time, at most
    ``cfg.tail_cover_days`` of expected demand.
    """
    if cfg.tail_cover_days <= 0:
        return np.zeros(len(pos))
    daily = pos.mean_daily_units.to_numpy()
    lead = pos.lead_time_days.to_numpy().astype(float)
    inside = daily * np.clip(cfg.horizon_days - lead, 0, None)
    lot = economic_order_units(pos, cfg)
    return np.clip(lot - inside, 0, daily * cfg.tail_cover_days)


def tail_value_eur(pos: pd.DataFrame, cfg: PlanConfig) -> np.ndarray:
    """What one unit of cover past the horizon is worth, per row: a share of a
    lost sale (the plan may order again before it is needed) less holding it
    for half the cover."""
    lost = shortage_eur(pos, cfg)
    hold = pos.holding_cost_eur_per_unit_day.to_numpy() * cfg.tail_cover_days / 2
    return np.clip(cfg.tail_value_share * lost - hold, 0, None)


def add_tail(prob, inst: Instance, v: dict, cfg: PlanConfig) -> dict:
    """Cover past the horizon short of ``inst.tail``: tail_short[i] >= tail[i] -
    stock[i, H], priced at ``tail_value_eur`` in the objective. Only rows whose
    last day's stock an order can still change: {row: (variable, EUR per unit)}."""
    tail, value = inst.tail, tail_value_eur(inst.pos, cfg)
    last = v["stock"][:, -1]
    out = {}
    for i in np.flatnonzero((tail > 0) & (value > 0) & v["free"][:, -1]):
        out[i] = (s := prob.add_variable(f"tail_short_{i}", 0), float(value[i]))
        prob += pulp.LpConstraint(
            pulp.LpAffineExpression([(s, 1.0), (last[i], 1.0)]), 1, rhs=float(tail[i])
        )
    return out
