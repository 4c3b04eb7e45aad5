"""The KPI table managers read: each indicator's target, actual, weight, score.

Indicators follow the business's marketing performance model (customer
growth, conversion, average revenue per customer, promotion ROI) plus the
fill rate for operations. Each actual is mapped onto 0-100: 0 at the KPI's
``zero`` value, 100 at its target or better, linear between. The composite
is PScore = sum(weight x score) with the weights normalised to sum to 1.

Definitions over the ``window_days`` up to the run date (the extracts have no
web visits, so conversion uses the CRM customer base as the visitors):
- customer_growth: (active customers now - the window before) / the window
  before; active = at least one completed order in the window;
- conversion: buying customers / customers in the CRM;
- arpc: revenue / buying customers (EUR); its default target is the previous
  window's ARPC grown by ``ARPC_GROWTH``;
- promotion_roi: gross margin of promoted lines / discount given, over the
  last 90 days (``mart_promotion_roi``). The margin is already after the
  discount (the marketing cost), so it is the business's (revenue - marketing
  cost) / marketing cost with the discount taken off once (``roi``);
- fill_rate: share of SKU x location days in stock.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Kpi:
    """One indicator: what it means, its default target and its zero point."""

    name: str
    label: str
    definition: str
    target: float | None  # None: derived from the data (see ``default_targets``)
    zero: float  # actual that scores 0
    fmt: str = "{:.1%}"


KPIS = (
    Kpi(
        "customer_growth",
        "Customer growth",
        "(active now - before) / before",
        0.02,
        -0.10,
    ),
    Kpi("conversion", "Conversion rate", "buying customers / customers", 0.60, 0.20),
    Kpi(
        "arpc",
        "Avg revenue per customer",
        "revenue / buying customers",
        None,
        0.0,
        "{:,.2f} EUR",
    ),
    Kpi(
        "promotion_roi",
        "Promotion ROI",
        "(margin - discount) / discount",
        0.50,
        -1.0,
        "{:.2f}",
    ),
    Kpi("fill_rate", "Fill rate", "SKU-location days in stock", 0.97, 0.80),
)
ARPC_GROWTH = 0.03
WATCH_BELOW, WARN_BELOW = 80.0, 60.0  # scores under these are flagged


def parse_mapping(spec: str, what: str) -> dict[str, float]:
    """``"a=0.2,b=0.3"`` -> {"a": 0.2, "b": 0.3}; names must be known KPIs."""
    known = {k.name for k in KPIS}
    out = {}
    for item in filter(None, (p.strip() for p in spec.split(","))):
        name, sep, value = item.partition("=")
        if not sep or name.strip() not in known:
            raise ValueError(f"{what}: {item!r} is not <kpi>=<number>; KPIs: {known}")
        out[name.strip()] = float(value)
    return out


def normalised_weights(spec: str) -> dict[str, float]:
    """KPI weights from ``spec`` (missing KPIs weigh 0), scaled to sum to 1."""
    raw = parse_mapping(spec, "kpi_weights")
    if any(w < 0 for w in raw.values()) or sum(raw.values()) <= 0:
        raise ValueError(f"kpi_weights must be >= 0 and not all 0: {spec!r}")
    total = sum(raw.values())
    return {k.name: raw.get(k.name, 0.0) / total for k in KPIS}


def score(actual: float, target: float, zero: float) -> float:
    """0-100: linear from ``zero`` (0) to ``target`` (100), clipped."""
    if not np.isfinite(actual):
        return 0.0
    return float(np.clip((actual - zero) / (target - zero), 0.0, 1.0) * 100)


def status(value: float) -> str:
    if value < WARN_BELOW:
        return "warning"
    return "watch" if value < WATCH_BELOW else "ok"


def measure(orders, customers: int, demand_daily, roi, ds: str, window_days=30):
    """Actual of every KPI, plus the previous window's ARPC, from the warehouse.

    ``orders``: completed order lines (customer_id, order_date, qty_units,
    unit_price_eur, discount_pct); ``demand_daily``: ``mart_demand_daily``;
    ``roi``: ``mart_promotion_roi``.
    """
    end = pd.Timestamp(ds)
    now = _window(orders, end, window_days)
    before = _window(orders, end - pd.Timedelta(days=window_days), window_days)
    buyers_now, buyers_before = now.customer_id.nunique(), before.customer_id.nunique()
    recent = demand_daily[
        demand_daily.sales_date > end - pd.Timedelta(days=window_days)
    ]
    return {
        "customer_growth": _ratio(buyers_now - buyers_before, buyers_before),
        "conversion": _ratio(buyers_now, customers),
        "arpc": _ratio(_revenue(now), buyers_now),
        "promotion_roi": promotion_roi(roi.margin_eur.sum(), roi.discount_eur.sum()),
        "fill_rate": float(1 - recent.stockout.mean()) if len(recent) else np.nan,
        "previous_arpc": _ratio(_revenue(before), buyers_before),
    }


def kpi_table(actuals: dict, weights: dict, targets: dict | None = None):
    """(KPI table, PScore): target, actual, weight, score, status per KPI."""
    chosen = default_targets(actuals) | (targets or {})
    rows = []
    for k in KPIS:
        actual, target = actuals[k.name], chosen[k.name]
        value = score(actual, target, k.zero)
        rows.append(
            {
                "kpi": k.name,
                "label": k.label,
                "definition": k.definition,
                "target": target,
                "actual": actual,
                "target_text": k.fmt.format(target),
                "actual_text": k.fmt.format(actual) if np.isfinite(actual) else "n/a",
                "weight": weights[k.name],
                "score": round(value, 1),
                "status": status(value),
            }
        )
    table = pd.DataFrame(rows)
    return table, round(float((table.weight * table.score).sum()), 1)


def default_targets(actuals: dict) -> dict[str, float]:
    """Fixed targets, and ARPC's: the previous window's grown by ``ARPC_GROWTH``."""
    base = actuals.get("previous_arpc", np.nan)
    arpc = base * (1 + ARPC_GROWTH) if np.isfinite(base) and base > 0 else 1.0
    return {k.name: (arpc if k.target is None else k.target) for k in KPIS}


def _window(orders, end: pd.Timestamp, days: int):
    dates = pd.to_datetime(orders.order_date)
    return orders[(dates > end - pd.Timedelta(days=days)) & (dates <= end)]


def _revenue(lines) -> float:
    return float(
        (lines.qty_units * lines.unit_price_eur * (1 - lines.discount_pct)).sum()
    )


def promotion_roi(margin_eur, discount_eur):
    """Margin after discount per EUR of discount; works on floats and Series.

    ``margin_eur`` already has the discount taken off the price, so the
    discount must not be subtracted again.
    """
    if isinstance(margin_eur, pd.Series):
        return margin_eur / discount_eur.where(discount_eur != 0)
    return _ratio(margin_eur, discount_eur)


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den else float("nan")
