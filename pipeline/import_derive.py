"""Products, locations, customers, inventory and promotions for an import.

A source the user exported is completed column by column (a column it lacks
takes the default below); a source the user did not export is derived from
the order lines. ``DEFAULTS`` are documented in ``docs/mapping.md`` and can be
changed in the mapping's ``[defaults]`` table. Every choice is appended to
``notes``; the ones the replenishment plan rests on start with ``plan: ``.
"""

from __future__ import annotations

import pandas as pd

from pipeline.mapping import Mapping

DEFAULTS = {
    "category": "all",
    "cost_share": 0.6,  # unit cost as a share of the list price
    "supplier_id": "unknown",
    "lead_time_days": 7,
    "moq": 1,
    "case_pack": 1,
    "region": "north",
    "capacity_units": 100_000_000,  # the contract's ceiling: no capacity limit
    "holding_cost_per_unit_day": 0.0,
    "marketing_consent": False,  # no consent is assumed without a CRM export
}
DATE_COLUMNS = ("snapshot_date", "on_order_arrival", "signup_date")
DATE_COLUMNS += ("start_date", "end_date")


def derive_missing(
    orders: pd.DataFrame, given: dict, mapping: Mapping, notes: list[str]
) -> dict[str, pd.DataFrame]:
    """Every non-order source, from the user's export or from ``orders``."""
    defaults = DEFAULTS | mapping.defaults
    given = {name: _iso_dates(frame) for name, frame in given.items()}
    return {
        "erp_products": products(
            orders, given.get("erp_products"), defaults, notes, mapping.measure
        ),
        "erp_locations": locations(orders, given.get("erp_locations"), defaults, notes),
        "crm_customers": customers(orders, given.get("crm_customers"), defaults, notes),
        "erp_inventory": inventory(orders, given.get("erp_inventory"), notes),
        "marketing_promotions": promotions(orders, given.get("marketing_promotions")),
    }


def _iso_dates(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    for col in DATE_COLUMNS:
        if col in frame and pd.api.types.is_datetime64_any_dtype(frame[col]):
            frame[col] = frame[col].dt.strftime("%Y-%m-%d")
    return frame


def _fill(frame: pd.DataFrame, column: str, value, source: str, notes, plan=False):
    """Set ``column`` to ``value`` where the export has no such column."""
    if column in frame:
        return
    frame[column] = value
    text = f"{source}.{column}: not exported, default {value!r}"
    notes.append(f"plan: {text}" if plan else text)


def products(
    orders, given, defaults: dict, notes: list[str], measure: str = "units"
) -> pd.DataFrame:
    """Products: the user's, or one per SKU sold (price = median unit price).

    With ``measure = "revenue"`` a unit is one currency unit of revenue, so
    every product's list price is 1 and its cost ``cost_share``: the plan's
    order costs are then in currency like everywhere else.
    """
    price = pd.to_numeric(orders.unit_price, errors="coerce")
    sold = orders.assign(price=price).groupby("sku", sort=True)
    median = sold.price.median().round(2)
    if given is None:
        frame = pd.DataFrame({"sku": median.index})
        if "category" in orders:
            frame["category"] = sold.category.first().to_numpy()
        notes.append("erp_products: not exported, one product per SKU sold")
    else:
        frame = given.drop(columns=["_file", "_line"])
    if measure == "revenue":
        frame["list_price"] = 1.0
        frame = frame.drop(columns="unit_cost", errors="ignore")
        notes.append("erp_products.list_price: 1 per unit of revenue (measure)")
    if "list_price" not in frame:
        frame["list_price"] = frame.sku.map(median)
        notes.append("erp_products.list_price: median unit price of the order lines")
    if "unit_cost" not in frame:
        cost = pd.to_numeric(frame.list_price, errors="coerce") * defaults["cost_share"]
        frame["unit_cost"] = cost.round(2)
        notes.append(
            f"plan: erp_products.unit_cost: not exported, {defaults['cost_share']:.0%}"
            " of the list price"
        )
    _fill(frame, "category", defaults["category"], "erp_products", notes)
    _fill(frame, "supplier_id", defaults["supplier_id"], "erp_products", notes)
    for col in ("lead_time_days", "moq", "case_pack"):
        _fill(frame, col, defaults[col], "erp_products", notes, plan=True)
    return frame[[*_PRODUCT_COLUMNS]]


_PRODUCT_COLUMNS = ("sku", "category", "unit_cost", "list_price", "supplier_id")
_PRODUCT_COLUMNS += ("lead_time_days", "moq", "case_pack")


def locations(orders, given, defaults: dict, notes: list[str]) -> pd.DataFrame:
    """Locations: the user's, or one per location in the order lines."""
    if given is None:
        sold = orders.groupby("location_id", sort=True)
        frame = pd.DataFrame({"location_id": list(sold.groups)})
        if "region" in orders:
            frame["region"] = sold.region.first().to_numpy()
        notes.append("erp_locations: not exported, one per location in the orders")
    else:
        frame = given.drop(columns=["_file", "_line"])
    _fill(frame, "region", defaults["region"], "erp_locations", notes)
    for col in ("capacity_units", "holding_cost_per_unit_day"):
        _fill(frame, col, defaults[col], "erp_locations", notes, plan=True)
    return frame[
        ["location_id", "region", "capacity_units", "holding_cost_per_unit_day"]
    ]


def customers(orders, given, defaults: dict, notes: list[str]) -> pd.DataFrame:
    """Customers: the user's, or one per customer id in the orders (no consent)."""
    columns = ["customer_id", "signup_date", "region", "loyalty_tier"]
    columns += ["marketing_consent", "email", "full_name"]
    if given is not None:
        frame = given.drop(columns=["_file", "_line"])
        _fill(frame, "region", defaults["region"], "crm_customers", notes)
        for col in ("loyalty_tier", "email", "full_name"):
            _fill(frame, col, None, "crm_customers", notes)
        return frame[columns]
    first = pd.to_datetime(orders.order_ts).groupby(orders.customer_id).min()
    frame = pd.DataFrame(
        {
            "customer_id": first.index,
            "signup_date": first.dt.strftime("%Y-%m-%d").to_numpy(),
            "region": defaults["region"],
            "loyalty_tier": None,
            "marketing_consent": bool(defaults["marketing_consent"]),
            "email": None,
            "full_name": None,
        }
    )
    notes.append(
        "crm_customers: not exported, one customer per id in the orders, no "
        "segmentation data; marketing consent "
        f"{'assumed' if defaults['marketing_consent'] else 'not assumed'}"
    )
    return frame[columns]


def inventory(orders, given, notes: list[str]) -> pd.DataFrame:
    """Inventory: the user's snapshots, or zero on hand on the last day."""
    columns = ["snapshot_date", "sku", "location_id", "on_hand", "on_order"]
    columns += ["on_order_arrival"]
    if given is not None:
        frame = given.drop(columns=["_file", "_line"])
        _fill(frame, "on_order", 0, "erp_inventory", notes, plan=True)
        _fill(frame, "on_order_arrival", None, "erp_inventory", notes)
        return frame[columns]
    last = pd.to_datetime(orders.order_ts).max().strftime("%Y-%m-%d")
    pairs = orders[["sku", "location_id"]].drop_duplicates().sort_values(["sku"])
    notes.append(
        "plan: erp_inventory: not exported, zero on hand and nothing on order "
        f"on {last} (the plan covers the whole forecast)"
    )
    return pairs.assign(
        snapshot_date=last, on_hand=0, on_order=0, on_order_arrival=None
    )[columns]


def promotions(orders, given) -> pd.DataFrame:
    """Promotions: the user's, else one per promo id on the order lines."""
    columns = ["promo_id", "sku", "category", "start_date", "end_date"]
    columns += ["discount_pct", "channel", "target_segment", "budget", "status"]
    if given is not None:
        frame = given.drop(columns=["_file", "_line"])
        for col in ("sku", "category", "channel", "target_segment", "budget"):
            if col not in frame:
                frame[col] = None
        return frame[columns]
    lines = orders[orders.promo_id.notna()].assign(
        day=pd.to_datetime(orders.order_ts).dt.strftime("%Y-%m-%d"),
        discount=pd.to_numeric(orders.discount_pct, errors="coerce"),
    )
    found = lines.groupby(["promo_id", "sku"], as_index=False).agg(
        start_date=("day", "min"),
        end_date=("day", "max"),
        discount_pct=("discount", "median"),
    )
    found = found.drop_duplicates("promo_id")
    if found.empty:
        first = pd.to_datetime(orders.order_ts).min() - pd.Timedelta(days=1)
        found = pd.DataFrame(
            {
                "promo_id": ["NO-PROMOTIONS"],
                "sku": [orders.sku.iloc[0]],
                "start_date": [f"{first:%Y-%m-%d}"],
                "end_date": [f"{first:%Y-%m-%d}"],
                "discount_pct": [0.0],
            }
        )
    return found.assign(
        category=None, channel="all", target_segment="all", budget=0.0, status="ended"
    )[columns]
