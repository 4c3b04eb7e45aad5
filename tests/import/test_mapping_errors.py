"""A wrong mapping fails with a message that says what to fix."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.importer import build_orders, import_exports
from pipeline.mapping import MappingError, load_mapping
from pipeline.settings import Settings


def _run(sample, tmp_path, old: str, new: str):
    """Import the ``kassen`` sample with ``old`` replaced by ``new`` in its mapping."""
    mapping_path, folder = sample("kassen")
    mapping_path.write_text(mapping_path.read_text().replace(old, new))
    settings = Settings.load(fusion_home=tmp_path / "home")
    return import_exports(
        load_mapping(mapping_path), folder, settings.landing, settings.expectations_dir
    )


def test_misspelled_user_column_names_close_match_and_columns_found(sample, tmp_path):
    edit = ('qty = "Menge"', 'qty = "Mengen"')
    with pytest.raises(MappingError) as err:
        _run(sample, tmp_path, *edit)
    message = str(err.value)
    assert "[sources.orders.columns] qty = 'Mengen'" in message
    assert "kassenbons_1.csv" in message
    assert "did you mean 'Menge'?" in message
    assert "columns found: Bon-Nr, Pos, Datum, Artikel, Filiale, Menge" in message


def test_unknown_contract_column_lists_the_contract(sample, tmp_path):
    edit = ('qty = "Menge"', 'quantity = "Menge"')
    with pytest.raises(MappingError, match=r"quantity: not a column of the orders"):
        _run(sample, tmp_path, *edit)


def test_missing_required_column_says_which(sample, tmp_path):
    edit = ('qty = "Menge"\n', "")
    with pytest.raises(MappingError, match=r"needs qty \(units\)"):
        _run(sample, tmp_path, *edit)


def test_date_in_another_format_names_file_line_and_value(sample, tmp_path):
    edit = ("%d-%m-%Y", "%m/%d/%Y")
    with pytest.raises(MappingError) as err:
        _run(sample, tmp_path, *edit)
    message = str(err.value)
    assert "order_ts" in message and "'%m/%d/%Y'" in message
    assert "kassenbons_1.csv line 2: '04-10-2025'" in message


def test_expression_over_a_missing_column_lists_columns(sample, tmp_path):
    edit = ('unit_price = "Einzelpreis"', 'unit_price = { expr = "Preis * 1.19" }')
    with pytest.raises(MappingError) as err:
        _run(sample, tmp_path, *edit)
    assert "unit_price = { expr = 'Preis * 1.19' }" in str(err.value)
    assert "Columns found: Bon-Nr, Pos, Datum" in str(err.value)


def test_expressions_cannot_read_files(sample, tmp_path):
    edit = (
        'unit_price = "Einzelpreis"',
        "unit_price = { expr = \"(select count(*) from read_csv('/etc/passwd'))\" }",
    )
    with pytest.raises(MappingError, match="file system operations are disabled"):
        _run(sample, tmp_path, *edit)


def test_no_orders_source_and_unknown_source(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text('[sources.erp_product]\nfiles = "p.csv"\n')
    with pytest.raises(MappingError, match="did you mean 'erp_products'"):
        load_mapping(path)
    path.write_text('[sources.erp_products]\nfiles = "p.csv"\n')
    with pytest.raises(MappingError, match=r"no \[sources.orders\]"):
        load_mapping(path)


def test_no_matching_file_lists_the_folder(sample, tmp_path):
    edit = ("kassenbons_*.csv", "bons_*.csv")
    with pytest.raises(MappingError, match=r"no file matches .*kassenbons_1.csv"):
        _run(sample, tmp_path, *edit)


def test_lines_above_the_contract_limit_are_split(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text('[sources.orders]\nfiles = "x.csv"\n')
    raw = pd.DataFrame(
        {
            "order_ts": pd.to_datetime(["2026-01-05", "2026-01-06"]),
            "qty": ["2500", "7"],
            "unit_price": ["2.0", "3.0"],
            "_file": "x.csv",
            "_line": [2, 3],
        }
    )
    orders = build_orders(raw, load_mapping(path), [])
    assert orders.qty.tolist() == ["1000", "1000", "500", "7"]
    assert orders.line_no.tolist() == [1, 2, 3, 1]
    assert orders.order_id.nunique() == 2


def test_an_export_without_rows_says_so(sample, tmp_path):
    mapping_path, folder = sample("kassen")
    for path in folder.glob("*.csv"):
        path.write_text(path.read_text().splitlines()[0] + "\n")
    settings = Settings.load(fusion_home=tmp_path / "home")
    with pytest.raises(MappingError, match="no order rows with their day"):
        import_exports(
            load_mapping(mapping_path),
            folder,
            settings.landing,
            settings.expectations_dir,
        )


def test_the_reference_page_example_is_a_valid_mapping(tmp_path):
    import re
    from pathlib import Path

    page = Path(__file__).resolve().parents[2] / "docs" / "mapping.md"
    block = re.search(r"```toml\n(.*?)```", page.read_text(), re.S).group(1)
    path = tmp_path / "reference.toml"
    path.write_text(block)
    mapping = load_mapping(path)
    assert (mapping.grain, mapping.week_start) == ("week", "saturday")
    assert mapping.sources["orders"].decimal == ","
    assert mapping.sources["orders"].columns["order_ts"].format == "%d.%m.%Y"
