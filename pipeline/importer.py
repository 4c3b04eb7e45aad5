"""``fusionloop import``: a retailer's own exports -> the landing layout, by day.

Only order lines (or sales rows) are required. What the exports lack is
derived or defaulted, and every such choice is recorded in
``landing/import.json`` (the manifest), printed, flagged in the plan's
``reason`` column and in the run report:

- products: from order lines (SKU, category if mapped, list price = median unit
  price, unit cost = list price x ``cost_share``), lead time, MOQ, case pack;
- locations: from order lines, region default, no capacity limit;
- customers: from the order lines' customer ids (one ``anonymous`` customer
  when there are none), no marketing consent unless the mapping says so;
- inventory: one snapshot on the last day with zero on hand and nothing on order;
- promotions: from the order lines' promo ids; without any, one ended
  placeholder with no discount, so the optional source is present.

Weekly rows land on the first day of their week (``week_start``). With
``measure = "revenue"`` a line's ``qty`` is its revenue in whole currency units
at a unit price of 1, so every forecast and plan figure is revenue. A line
above the contract's 1,000 units is split into lines of at most 1,000.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import io
from pipeline.import_derive import derive_missing
from pipeline.import_read import parse_times, read_source
from pipeline.mapping import WEEKDAYS, Mapping, MappingError, SourceMapping
from pipeline.sources import load_source

MANIFEST = "import.json"
QUARANTINE = "import_quarantine.csv"  # rows the import could not place on a day
MAX_LINE_UNITS = 1000  # the orders suite's upper bound on qty
ORDER_DEFAULTS = {
    "customer_id": "anonymous",
    "location_id": "ALL",
    "channel": "store",
    "discount_pct": "0",
    "status": "completed",
}
EXTRA_TYPES = {"category": "string", "region": "string", "revenue": "float"}


def import_exports(
    mapping: Mapping, input_dir: Path, landing: Path, expectations_dir: Path
) -> dict:
    """Convert the exports in ``input_dir`` into ``landing`` (replaced whole).

    Returns the manifest (also written as ``landing/import.json``): the days,
    rows read and landed per source, and what was derived or defaulted.
    """
    notes: list[str] = []
    read = {
        name: _read(mapping, name, input_dir, expectations_dir)
        for name in mapping.sources
    }
    files = [f for _, found in read.values() for f in found]
    frames = {name: frame for name, (frame, _) in read.items()}
    frames, quarantine = split_undated(frames)
    if frames["orders"].empty:
        raise MappingError(
            f"{', '.join(str(f) for f in read['orders'][1])}: no order rows with "
            f"their day ({len(quarantine)} without one); nothing to import"
        )
    orders = build_orders(frames.pop("orders"), mapping, notes)
    tables = derive_missing(orders, frames, mapping, notes)
    tables["orders"] = orders[_contract("orders", expectations_dir)]
    manifest = _manifest(mapping, orders, tables, notes, files)
    manifest["rows_read"] = {name: len(frame) for name, (frame, _) in read.items()}
    manifest["rows_quarantined"] = quarantine.source.value_counts().to_dict()

    def write(tmp: Path) -> None:
        _write_landing(tmp, tables, manifest)
        quarantine.to_csv(tmp / QUARANTINE, index=False)

    io.replace_dir(write, landing)
    return manifest


# A history row lands on the day of this column; without one it has no day.
DAY_COLUMNS = {"orders": "order_ts", "erp_inventory": "snapshot_date"}


def split_undated(frames: dict) -> tuple[dict, pd.DataFrame]:
    """History rows without their day, set apart with the reason.

    Returns the frames without those rows and the quarantine (``source``,
    ``file``, ``line``, ``rule``): rows read = rows kept + rows quarantined.
    """
    kept, bad = {}, []
    for name, frame in frames.items():
        column = DAY_COLUMNS.get(name)
        missing = frame[column].isna() if column in frame else frame.index < 0
        kept[name] = frame[~missing].reset_index(drop=True)
        bad.append(
            pd.DataFrame(
                {
                    "source": name,
                    "file": frame.loc[missing, "_file"],
                    "line": frame.loc[missing, "_line"],
                    "rule": f"{column} missing (rule: a row needs its day)",
                }
            )
        )
    return kept, pd.concat(bad, ignore_index=True)


def _contract(source: str, expectations_dir: Path) -> list[str]:
    return load_source(source, expectations_dir).all_columns


def _read(mapping: Mapping, name: str, input_dir: Path, expectations_dir: Path):
    src = load_source(name, expectations_dir)
    types = src.columns | src.optional_columns
    if name == "orders":
        types = types | EXTRA_TYPES
    spec: SourceMapping = mapping.sources[name]
    frame, files = read_source(spec, Path(input_dir), types)
    for col, col_spec in spec.columns.items():
        if types.get(col) in ("date", "timestamp") and col in frame:
            frame[col] = parse_times(frame, col, col_spec.format, name)
    return frame, files


def build_orders(raw: pd.DataFrame, mapping: Mapping, notes: list[str]):
    """Contract order lines from the mapped rows; unmapped columns defaulted."""
    if "order_ts" not in raw:
        raise MappingError(
            f"{mapping.path}: [sources.orders.columns] needs order_ts (the order's "
            'date or timestamp, with format = "..." if it is not ISO 8601)'
        )
    orders = raw.copy()
    if mapping.grain == "week":
        orders["order_ts"] = week_start(orders.order_ts, mapping.week_start)
        notes.append(f"orders: weekly rows land on the week's {mapping.week_start}")
    _measure(orders, mapping, notes)
    if "sku" not in orders:
        group = "category" if "category" in orders else None
        orders["sku"] = orders[group] if group else "ALL"
        notes.append(
            "orders.sku: not mapped, series are per "
            + ("product group (category)" if group else "location (sku 'ALL')")
        )
    defaults = ORDER_DEFAULTS | {
        k: str(v) for k, v in mapping.defaults.items() if k in ORDER_DEFAULTS
    }
    for col, value in defaults.items():
        if col not in orders:
            orders[col] = value
            notes.append(f"orders.{col}: not mapped, default {value!r}")
    if "promo_id" not in orders:
        orders["promo_id"] = None
    orders = _line_keys(orders, notes)
    orders["order_ts"] = orders.order_ts.dt.strftime("%Y-%m-%d %H:%M:%S")
    return orders


def week_start(ts: pd.Series, weekday: str) -> pd.Series:
    """Each timestamp moved back to the start (midnight) of its week."""
    back = (ts.dt.dayofweek - WEEKDAYS.index(weekday)) % 7
    return ts.dt.normalize() - pd.to_timedelta(back, unit="D")


def _measure(orders: pd.DataFrame, mapping: Mapping, notes: list[str]) -> None:
    """``qty`` and ``unit_price`` from units and prices, or from revenue alone."""
    has = set(orders.columns)
    if mapping.measure == "revenue":
        if "revenue" not in has:
            raise MappingError(
                f'{mapping.path}: measure = "revenue" needs [sources.orders.'
                'columns] revenue = "<your revenue column>"'
            )
        revenue = pd.to_numeric(orders.revenue, errors="coerce")
        orders["qty"] = revenue.round().astype("Int64").astype("string")
        orders["unit_price"] = "1.0"
        notes.append("orders: measure is revenue: qty = revenue, unit price 1")
        return
    if "qty" not in has:
        raise MappingError(
            f"{mapping.path}: [sources.orders.columns] needs qty (units), or set "
            'measure = "revenue" under [import] and map revenue'
        )
    if "unit_price" not in has:
        if "revenue" not in has:
            raise MappingError(
                f"{mapping.path}: [sources.orders.columns] needs unit_price or "
                "revenue (unit price = revenue / qty)"
            )
        qty = pd.to_numeric(orders.qty, errors="coerce")
        price = pd.to_numeric(orders.revenue, errors="coerce") / qty.where(qty != 0)
        orders["unit_price"] = price.round(4).astype("string")
        notes.append("orders.unit_price: revenue / qty")


def _line_keys(orders: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Generated ``order_id``/``line_no`` where unmapped; big lines split."""
    if "order_id" in orders and "line_no" in orders:
        return orders
    if "order_id" not in orders:
        orders["order_id"] = [f"IMP{i:09d}" for i in range(1, len(orders) + 1)]
        notes.append("orders.order_id: not mapped, one order per input row")
    qty = pd.to_numeric(orders.qty, errors="coerce")
    big = (qty.notna() & (qty == qty.round()) & (qty > MAX_LINE_UNITS)).to_numpy()
    parts = np.where(big, np.ceil(qty.fillna(1) / MAX_LINE_UNITS), 1).astype(int)
    out = orders.loc[orders.index.repeat(parts)].copy()
    out["line_no"] = out.groupby("order_id", sort=False).cumcount() + 1
    split, part = np.repeat(big, parts), np.concatenate([np.arange(n) for n in parts])
    left = np.repeat(qty.fillna(0).to_numpy(), parts) - part * MAX_LINE_UNITS
    chunk = pd.Series(np.minimum(left, MAX_LINE_UNITS), index=out.index)
    out["qty"] = out.qty.where(~split, chunk.astype("Int64").astype("string"))
    if big.any():
        notes.append(
            f"orders: {int(big.sum())} row(s) above {MAX_LINE_UNITS} units split "
            f"into lines of at most {MAX_LINE_UNITS}"
        )
    if "line_no" not in orders:
        notes.append("orders.line_no: not mapped, numbered per order")
    return out.reset_index(drop=True)


def _manifest(mapping, orders, tables, notes, files) -> dict:
    days = pd.to_datetime(orders.order_ts).dt.strftime("%Y-%m-%d")
    return {
        "mapping": str(mapping.path),
        "input_files": [str(f) for f in files],
        "grain": mapping.grain,
        "week_start": mapping.week_start if mapping.grain == "week" else None,
        "measure": mapping.measure,
        "plan": mapping.plan,
        "first_day": days.min(),
        "last_day": days.max(),
        "rows_landed": {name: int(len(t)) for name, t in tables.items()},
        "mapped_sources": sorted(mapping.sources),
        "notes": notes,
        "plan_assumptions": [
            n[len("plan: ") :] for n in notes if n.startswith("plan: ")
        ],
        "customers_from_crm": "crm_customers" in mapping.sources,
        "consent_assumed": bool(mapping.defaults.get("marketing_consent", False)),
    }


def _write_landing(root: Path, tables: dict, manifest: dict) -> None:
    """History sources by their day; snapshot sources on the last day."""
    days = pd.to_datetime(tables["orders"].order_ts).dt.strftime("%Y-%m-%d")
    for day, lines in tables["orders"].groupby(days):
        lines.to_csv(_mkdir(root / day) / "orders.csv", index=False)
    inventory = tables["erp_inventory"]
    for day, rows in inventory.groupby(inventory.snapshot_date):
        rows.to_csv(_mkdir(root / day) / "erp_inventory.csv", index=False)
    last = _mkdir(root / manifest["last_day"])
    for name, file in [
        ("erp_products", "erp_products.csv"),
        ("erp_locations", "erp_locations.csv"),
        ("crm_customers", "crm_customers.csv"),
    ]:
        tables[name].to_csv(last / file, index=False)
    tables["marketing_promotions"].to_json(
        last / "marketing_promotions.jsonl", orient="records", lines=True
    )
    io.write_json(manifest, root / MANIFEST)


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def format_manifest(manifest: dict, landing: Path) -> str:
    """What an import landed and what it derived or defaulted, for the terminal."""
    rows = ", ".join(f"{k} {v:,}" for k, v in manifest["rows_landed"].items())
    lines = [
        f"imported {manifest['first_day']}..{manifest['last_day']} into {landing} "
        f"({manifest['grain']} grain, measure {manifest['measure']})",
        f"rows landed: {rows}",
        "derived or defaulted:",
        *[f"  - {note}" for note in manifest["notes"]],
        *[
            f"quarantined: {n:,} {source} row(s) without their day, listed with "
            f"file and line in {landing / QUARANTINE}"
            for source, n in manifest["rows_quarantined"].items()
        ],
        f"next: FUSION_HOME={landing.parent} fusionloop run --ds "
        f"{manifest['last_day']}  (and fusionloop backtest --landing {landing} "
        "--horizon N)",
    ]
    return "\n".join(lines)


def read_manifest(landing: Path) -> dict | None:
    """The manifest of the import that wrote ``landing``; ``None`` for a landing
    an ERP/CRM (or the demo market) filled, which assumes nothing."""
    path = Path(landing) / MANIFEST
    return io.read_json(path) if path.exists() else None


def plan_flag(manifest: dict | None) -> str:
    """The note every plan line carries when the plan rests on import defaults."""
    if not manifest or not manifest["plan_assumptions"]:
        return ""
    columns = [a.split(":", 1)[0] for a in manifest["plan_assumptions"]]
    return (
        f"assumed by import, not exported: {', '.join(columns)} "
        "(see import.json and docs/mapping.md)"
    )
