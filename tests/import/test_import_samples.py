"""Three foreign-format exports, each imported and backtested end to end."""

from __future__ import annotations

import filecmp
from pathlib import Path

import pandas as pd
import pytest

from pipeline.importer import import_exports
from pipeline.landing_backtest import backtest_landing
from pipeline.mapping import load_mapping
from pipeline.settings import Settings

MODELS = {"fusionloop", "seasonal_naive", "moving_average"}


def _import(sample, name, tmp_path):
    mapping_path, folder = sample(name)
    settings = Settings.load(fusion_home=tmp_path / "home", pii_key="test-key")
    manifest = import_exports(
        load_mapping(mapping_path), folder, settings.landing, settings.expectations_dir
    )
    return settings, manifest, folder


def _landed(settings, file):
    return pd.concat(
        [pd.read_csv(p, dtype=str) for p in sorted(settings.landing.glob(f"*/{file}"))],
        ignore_index=True,
    )


def test_orders_only_semicolon_decimal_comma(sample, tmp_path):
    settings, manifest, folder = _import(sample, "kassen", tmp_path)
    given = sum(len(pd.read_csv(p, sep=";")) for p in folder.glob("kassenbons_*.csv"))
    orders = _landed(settings, "orders.csv")
    assert len(orders) == given  # every input row lands
    assert (
        manifest["first_day"] == "2025-10-04" and manifest["last_day"] == "2026-01-31"
    )
    assert len(list(settings.landing.glob("*/orders.csv"))) == 120
    products = pd.read_csv(settings.landing / "2026-01-31" / "erp_products.csv")
    assert manifest["rows_quarantined"] == {}
    assert products.set_index("sku").list_price.to_dict() == {
        "A-001": 6.75,
        "A-002": 9.0,
        "A-003": 11.25,
    }  # "6,75" read with the decimal comma, median per SKU
    assert (products.unit_cost == (products.list_price * 0.6).round(2)).all()
    inventory = pd.read_csv(settings.landing / "2026-01-31" / "erp_inventory.csv")
    assert len(inventory) == 6 and (inventory.on_hand == 0).all()
    assert any("erp_inventory" in a for a in manifest["plan_assumptions"])
    results = backtest_landing(settings, settings.landing, horizon=14)
    assert results["grain"] == "day" and results["origin"] == "2026-01-17"
    assert results["scored_rows"] == 6 * 14
    assert set(results["wape"]) == MODELS
    assert all(0 < w < 1 for w in results["wape"].values())


def test_us_dates_revenue_only_with_product_list(sample, tmp_path):
    settings, manifest, folder = _import(sample, "us_revenue", tmp_path)
    source = pd.read_csv(folder / "sales.csv")
    orders = _landed(settings, "orders.csv")
    assert manifest["measure"] == "revenue"
    assert orders.qty.astype(int).sum() == source.sales.round().sum()
    assert set(orders.unit_price.astype(float)) == {1.0}
    january = pd.to_datetime(source.date, format="%m/%d/%Y").dt.day <= 7
    discounts = orders.discount_pct.astype(float)
    assert (discounts[january.to_numpy()] == 0.1).all()
    assert (discounts[~january.to_numpy()] == 0.0).all()
    products = pd.read_csv(settings.landing / "2026-01-31" / "erp_products.csv")
    assert set(products.category) == {"grocery"}  # from items.jsonl
    assert set(products.list_price) == {1.0} and set(products.unit_cost) == {0.6}
    assert products.lead_time_days.eq(7).all()  # documented default
    results = backtest_landing(settings, settings.landing, horizon=14)
    assert set(results["wape"]) == MODELS and results["series"] == 6


def test_weekly_store_department_parquet(sample, tmp_path):
    settings, manifest, folder = _import(sample, "weekly", tmp_path)
    days = pd.to_datetime(
        [p.parent.name for p in settings.landing.glob("*/orders.csv")]
    )
    assert set(days.dayofweek) == {5}  # weeks ending Friday start on Saturday
    orders = _landed(settings, "orders.csv")
    assert set(orders.sku) == {"produce", "dairy"} and set(orders.location_id) == {
        "1",
        "2",
    }
    locations = pd.read_csv(
        settings.landing / manifest["last_day"] / "erp_locations.csv"
    )
    assert set(locations.region) == {"west"}  # the mapping's [defaults]
    results = backtest_landing(settings, settings.landing, horizon=8)
    assert results["grain"] == "week" and results["scored_rows"] == 4 * 8
    assert set(results["wape"]) == MODELS
    assert _weekly_naive_wape(folder, results) == pytest.approx(
        results["wape"]["seasonal_naive"], abs=1e-4
    )


def _weekly_naive_wape(folder, results) -> float:
    """Seasonal naive at week grain, from the export itself: 52 weeks back."""
    weekly = pd.read_parquet(folder / "weekly.parquet")
    weekly["Week"] = pd.to_datetime(weekly.Week)
    units = weekly.set_index(["Store", "Dept", "Week"]).Weekly_Units
    origin = pd.Timestamp(results["origin"]) + pd.Timedelta(days=6)  # a Friday
    error = total = 0.0
    for store, dept, week in units.index:
        if origin < week <= origin + pd.Timedelta(weeks=8):
            back = units.get((store, dept, week - pd.Timedelta(weeks=52)), 0)
            error += abs(units[(store, dept, week)] - back)
            total += units[(store, dept, week)]
    return error / total


def test_reimport_gives_the_same_landing(sample, tmp_path):
    settings, _, folder = _import(sample, "kassen", tmp_path)
    first = tmp_path / "first"
    settings.landing.rename(first)
    mapping = load_mapping(tmp_path / "kassen.toml")
    import_exports(mapping, folder, settings.landing, settings.expectations_dir)
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    again = sorted(
        p.relative_to(settings.landing)
        for p in settings.landing.rglob("*")
        if p.is_file()
    )
    assert files == again and len(files) > 120
    assert all(
        filecmp.cmp(first / f, settings.landing / f, shallow=False) for f in files
    )


def test_backtest_needs_enough_history(sample, tmp_path):
    settings, _, _ = _import(sample, "kassen", tmp_path)
    with pytest.raises(ValueError, match="too little history"):
        backtest_landing(settings, settings.landing, horizon=200)


def test_the_readme_example_imports(tmp_path):
    """``examples/kassen`` as shipped: the mapping's defaults reach the landing."""
    example = Path(__file__).resolve().parents[2] / "examples" / "kassen"
    settings = Settings.load(fusion_home=tmp_path / "home")
    manifest = import_exports(
        load_mapping(example / "mapping.toml"),
        example / "exports",
        settings.landing,
        settings.expectations_dir,
    )
    assert manifest["last_day"] == "2026-01-31"
    products = pd.read_csv(settings.landing / "2026-01-31" / "erp_products.csv")
    assert products.lead_time_days.eq(5).all()  # [defaults] lead_time_days = 5


def test_rows_without_a_day_are_quarantined_with_file_and_line(sample, tmp_path):
    mapping_path, folder = sample("kassen")
    path = folder / "kassenbons_2.csv"
    lines = path.read_text().splitlines()
    lines[4] = lines[4].replace(lines[4].split(";")[2], "", 1)  # blank date, line 5
    path.write_text("\n".join(lines) + "\n")
    settings = Settings.load(fusion_home=tmp_path / "home")
    manifest = import_exports(
        load_mapping(mapping_path), folder, settings.landing, settings.expectations_dir
    )
    quarantine = pd.read_csv(settings.landing / "import_quarantine.csv")
    assert quarantine[["source", "line"]].values.tolist() == [["orders", 5]]
    assert quarantine.file.iat[0] == str(path)
    assert quarantine.rule.iat[0].startswith("order_ts missing")
    landed = len(_landed(settings, "orders.csv"))
    assert manifest["rows_read"]["orders"] == landed + 1


def test_without_a_sku_the_product_group_is_the_series(sample, tmp_path):
    mapping_path, folder = sample("weekly")
    text = mapping_path.read_text().replace('sku = "Dept"', 'category = "Dept"')
    mapping_path.write_text(text)
    settings = Settings.load(fusion_home=tmp_path / "home")
    manifest = import_exports(
        load_mapping(mapping_path), folder, settings.landing, settings.expectations_dir
    )
    assert (
        "orders.sku: not mapped, series are per product group (category)"
        in (manifest["notes"])
    )
    products = pd.read_csv(settings.landing / manifest["last_day"] / "erp_products.csv")
    assert products[["sku", "category"]].values.tolist() == [
        ["dairy", "dairy"],
        ["produce", "produce"],
    ]
