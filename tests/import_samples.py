"""Foreign-format exports the import tests write themselves, with their mappings.

Used by ``tests/import/`` (a folder whose name cannot be a package).

One seeded retailer (SKUs x stores, weekly rhythm, Poisson sales) exported
three ways, as three retailers might:

- ``kassen``: order lines only, ';' delimiter, decimal comma, ``%d-%m-%Y``
  dates, German column names;
- ``us_revenue``: revenue per store x item x day, ``%m/%d/%Y`` dates, a
  discount column turned into ``discount_pct`` by an expression, plus a
  JSON-lines product list without costs;
- ``weekly``: weekly units per store x department (no SKU, no customer) in
  Parquet, weeks ending on Friday.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SAMPLE_END = "2026-01-31"


def retailer_sales(days: int, skus: int = 3, stores: int = 2, seed: int = 3):
    """Units and prices per store x SKU x day over ``days`` days to SAMPLE_END."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range(end=SAMPLE_END, periods=days, freq="D")
    base = rng.uniform(2.0, 9.0, size=(stores, skus))
    rows = []
    for d in dates:
        rhythm = 1.0 + 0.6 * (d.dayofweek >= 4) + 0.3 * np.sin(d.dayofyear / 58.0)
        for s in range(stores):
            for k in range(skus):
                rows.append(
                    (d, f"S{s + 1}", f"A-{k + 1:03d}", rng.poisson(base[s, k] * rhythm))
                )
    frame = pd.DataFrame(rows, columns=["date", "store", "sku", "units"])
    frame["price"] = frame.sku.map(lambda k: 4.5 + 2.25 * int(k[-1]))
    return frame[frame.units > 0].reset_index(drop=True)


KASSEN_MAPPING = """
[import]
grain = "day"

[sources.orders]
files = "kassenbons_*.csv"
format = "csv"
delimiter = ";"
decimal = ","

[sources.orders.columns]
order_id = "Bon-Nr"
line_no = "Pos"
order_ts = { column = "Datum", format = "%d-%m-%Y" }
sku = "Artikel"
location_id = "Filiale"
qty = "Menge"
unit_price = "Einzelpreis"
"""


def write_kassen(folder) -> None:
    """Order lines only, split over two monthly-style files."""
    sales = retailer_sales(120)
    out = pd.DataFrame(
        {
            "Bon-Nr": [f"B{i:06d}" for i in range(len(sales))],
            "Pos": 1,
            "Datum": sales.date.dt.strftime("%d-%m-%Y"),
            "Artikel": sales.sku,
            "Filiale": sales.store,
            "Menge": sales.units,
            "Einzelpreis": sales.price.map(lambda p: f"{p:.2f}".replace(".", ",")),
        }
    )
    half = len(out) // 2
    out.iloc[:half].to_csv(folder / "kassenbons_1.csv", sep=";", index=False)
    out.iloc[half:].to_csv(folder / "kassenbons_2.csv", sep=";", index=False)


US_MAPPING = """
[import]
grain = "day"
measure = "revenue"

[sources.orders]
files = "sales.csv"

[sources.orders.columns]
order_ts = { column = "date", format = "%m/%d/%Y" }
sku = "item"
location_id = "store"
revenue = "sales"
discount_pct = { expr = "round(retail_disc / (sales + retail_disc), 2)" }

[sources.erp_products]
files = "items.jsonl"
format = "jsonl"

[sources.erp_products.columns]
sku = "item"
category = "dept"
list_price = "price"
"""


def write_us_revenue(folder) -> None:
    """Revenue only (no units), a discount amount, and a product list."""
    sales = retailer_sales(100, seed=5)
    disc = np.where(sales.date.dt.day <= 7, 0.1, 0.0)
    revenue = sales.units * sales.price * (1 - disc)
    pd.DataFrame(
        {
            "date": sales.date.dt.strftime("%m/%d/%Y"),
            "store": sales.store,
            "item": sales.sku,
            "sales": revenue.round(2),
            "retail_disc": (sales.units * sales.price * disc).round(2),
        }
    ).to_csv(folder / "sales.csv", index=False)
    items = sales.drop_duplicates("sku")[["sku", "price"]]
    items.assign(dept="grocery").rename(columns={"sku": "item"}).to_json(
        folder / "items.jsonl", orient="records", lines=True
    )


WEEKLY_MAPPING = """
[import]
grain = "week"
week_start = "saturday"

[sources.orders]
files = "weekly.parquet"
format = "parquet"

[sources.orders.columns]
order_ts = "Week"
sku = "Dept"
location_id = "Store"
qty = "Weekly_Units"
revenue = "Weekly_Sales"

[defaults]
region = "west"
"""


def write_weekly(folder) -> None:
    """Weekly units per store x department, weeks ending on Friday."""
    sales = retailer_sales(7 * 70, skus=2, seed=9)
    week_end = sales.date + pd.to_timedelta((4 - sales.date.dt.dayofweek) % 7, "D")
    sales, week_end = sales[week_end <= sales.date.max()], week_end  # whole weeks
    weekly = (
        sales.assign(
            Week=week_end.dt.strftime("%Y-%m-%d"), revenue=sales.units * sales.price
        )
        .groupby(["Week", "store", "sku"], as_index=False)
        .agg(Weekly_Units=("units", "sum"), Weekly_Sales=("revenue", "sum"))
    )
    weekly["Store"] = weekly.store.str[1:].astype(int)
    weekly["Dept"] = weekly.sku.map({"A-001": "produce", "A-002": "dairy"})
    weekly[["Store", "Dept", "Week", "Weekly_Units", "Weekly_Sales"]].to_parquet(
        folder / "weekly.parquet"
    )


SAMPLES = {
    "kassen": (KASSEN_MAPPING, write_kassen),
    "us_revenue": (US_MAPPING, write_us_revenue),
    "weekly": (WEEKLY_MAPPING, write_weekly),
}


def write_sample(name: str, root: Path) -> tuple[Path, Path]:
    """Write sample ``name`` under ``root``: returns (mapping path, input folder)."""
    mapping, writer = SAMPLES[name]
    folder = root / name
    folder.mkdir()
    writer(folder)
    path = root / f"{name}.toml"
    path.write_text(mapping)
    return path, folder
