"""Extract and validate on hand-made drops, with the real GX suites."""

import pandas as pd
import pytest

from pipeline.extract import (
    _one_line_per_record,
    _record_lines,
    _record_lines_by_csv,
    extract_source,
)
from pipeline.pii import MissingKeyError
from pipeline.settings import Settings
from pipeline.sources import BadFileError
from pipeline.validate import validate_source

HEADER = (
    "order_id,line_no,order_ts,customer_id,sku,location_id,channel,qty,unit_price,"
    "discount_pct,promo_id,status"
)
GOOD = "O1,1,2026-01-05 10:00:00,C1,SKU1,L1,web,2,9.5,0.0,,completed"
ROWS = [
    GOOD,
    # line 3: qty not a number; 4: qty out of range; 5: bad status; 6: no sku
    "O1,2,2026-01-05 10:00:00,C1,SKU2,L1,web,abc,9.5,0.0,,completed",
    "O2,1,2026-01-05 11:00:00,C2,SKU1,L1,store,-1,9.5,0.0,,completed",
    "O3,1,2026-01-05 12:00:00,C3,SKU1,L1,store,1,9.5,0.0,,unknown",
    "O4,1,2026-01-05 12:00:00,C3,,L1,store,1,9.5,0.0,,completed",
    "O5,1,2026-01-05 13:00:00,C4,SKU3,L2,app,3,4.0,0.1,P1,returned",
]


def _land(settings: Settings, day: str, name: str, lines: list[str]):
    folder = settings.landing / day
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("\n".join(lines) + "\n")


@pytest.fixture
def settings(tmp_path):
    return Settings.load(fusion_home=tmp_path, pii_key="k")


def test_bad_rows_are_quarantined_with_rule_column_and_line(settings):
    # Four bad rows of six would fail the whole batch; pad it with good rows.
    good = [GOOD.replace("O1,1", f"G{i},1") for i in range(30)]
    _land(settings, "2026-01-05", "orders.csv", [HEADER, *ROWS, *good])
    out = extract_source(settings, "orders", "2026-01-05")
    counts = validate_source(settings, "orders", "2026-01-05", out["days"])
    assert counts["input_rows"] == 36
    assert counts["accepted_rows"] + counts["quarantined_rows"] == 36
    assert counts["quarantined_rows"] == 4
    q = pd.read_parquet(
        settings.lake / "quarantine/orders/ds=2026-01-05/part-0.parquet"
    )
    by_line = q.set_index("_source_line")
    assert by_line.loc[3, "rule"] == "type:int" and by_line.loc[3, "column"] == "qty"
    assert by_line.loc[3, "qty"] == "abc"  # the original value is kept
    assert "expect_column_values_to_be_between" in by_line.loc[4, "rule"]
    assert "expect_column_values_to_be_in_set" in by_line.loc[5, "rule"]
    assert "expect_column_values_to_not_be_null" in by_line.loc[6, "rule"]
    clean = pd.read_parquet(settings.lake / "clean/orders/ds=2026-01-05/part-0.parquet")
    assert len(clean) == 32 and clean.qty.dtype.name == "Int64"


def test_missing_column_fails_the_file_naming_it(settings):
    _land(
        settings,
        "2026-01-05",
        "orders.csv",
        [HEADER.replace(",qty,", ",quantity,"), GOOD],
    )
    out = extract_source(settings, "orders", "2026-01-05")
    assert out["days"] == [] and list(out["bad_drops"]) == ["2026-01-05"]
    with pytest.raises(BadFileError) as err:
        validate_source(settings, "orders", "2026-01-05", [], out["bad_drops"])
    assert "orders.csv" in str(err.value) and "['qty']" in str(err.value)
    assert "Renamed? Unexpected column(s) ['quantity']" in str(err.value)


def test_mostly_bad_batch_fails_with_the_file_and_first_bad_line(settings):
    _land(settings, "2026-01-05", "orders.csv", [HEADER, *ROWS])
    out = extract_source(settings, "orders", "2026-01-05")
    with pytest.raises(BadFileError, match=r"orders.csv: 4 of 6 rows break rules"):
        validate_source(settings, "orders", "2026-01-05", out["days"])


def test_missing_required_drop_fails_and_names_the_path(settings):
    (settings.landing / "2026-01-05").mkdir(parents=True)
    out = extract_source(settings, "erp_products", "2026-01-05")
    with pytest.raises(BadFileError, match="erp_products.csv: file missing"):
        validate_source(settings, "erp_products", "2026-01-05", [], out["bad_drops"])


def test_customer_pii_is_pseudonymised_with_a_keyed_mac(settings):
    header = (
        "customer_id,signup_date,region,loyalty_tier,marketing_consent,email,full_name"
    )
    _land(
        settings,
        "2026-01-05",
        "crm_customers.csv",
        [header, "C1,2025-01-01,north,gold,True,Ann@Example.com,Ann A"],
    )
    extract_source(settings, "crm_customers", "2026-01-05")
    raw_path = settings.lake / "raw/crm_customers/ds=2026-01-05/part-0.parquet"
    raw = pd.read_parquet(raw_path)
    assert "email" not in raw.columns and "full_name" not in raw.columns
    assert b"Example.com" not in raw_path.read_bytes()
    first = raw.email_pseudonym.iat[0]
    assert len(first) == 64
    other = Settings.load(fusion_home=settings.fusion_home, pii_key="other")
    extract_source(other, "crm_customers", "2026-01-05")
    assert pd.read_parquet(raw_path).email_pseudonym.iat[0] != first


def test_pii_without_a_key_outside_the_demo_is_an_error(tmp_path):
    keyless = Settings.load(fusion_home=tmp_path, pii_key="")
    header = "customer_id,signup_date,region,loyalty_tier,marketing_consent,email,"
    _land(
        keyless,
        "2026-01-05",
        "crm_customers.csv",
        [header + "full_name", "C1,2025-01-01,north,gold,True,a@b.com,Ann A"],
    )
    with pytest.raises(MissingKeyError, match="set FUSION_PII_KEY"):
        extract_source(keyless, "crm_customers", "2026-01-05")
    assert not (keyless.lake / "raw" / "crm_customers").exists()


def test_re_extracting_a_day_gives_the_same_counts(settings):
    good = [GOOD.replace("O1,1", f"G{i},1") for i in range(10)]
    _land(settings, "2026-01-05", "orders.csv", [HEADER, *good])
    for _ in range(2):
        out = extract_source(settings, "orders", "2026-01-05")
        counts = validate_source(settings, "orders", "2026-01-05", out["days"])
    assert counts["input_rows"] == counts["accepted_rows"] == 10


def test_a_line_resent_on_a_later_day_is_not_a_duplicate(settings):
    _land(settings, "2026-01-05", "orders.csv", [HEADER, GOOD])
    _land(
        settings,
        "2026-01-06",
        "orders.csv",
        [HEADER, GOOD.replace("completed", "returned")],
    )
    out = extract_source(settings, "orders", "2026-01-06")
    assert out["days"] == ["2026-01-05", "2026-01-06"]
    counts = validate_source(settings, "orders", "2026-01-06", out["days"])
    assert counts["quarantined_rows"] == 0


def test_a_duplicate_within_one_drop_is_quarantined(settings):
    good = [GOOD.replace("O1,1", f"G{i},1") for i in range(10)]
    _land(settings, "2026-01-05", "orders.csv", [HEADER, GOOD, GOOD, *good])
    out = extract_source(settings, "orders", "2026-01-05")
    counts = validate_source(settings, "orders", "2026-01-05", out["days"])
    assert counts["quarantined_rows"] == 2
    assert counts["rules_broken"] == {"expect_compound_columns_to_be_unique": 2}


def test_a_day_extracted_but_never_validated_is_validated_later(settings):
    good = [GOOD.replace("O1,1", f"G{i},1") for i in range(5)]
    _land(settings, "2026-01-05", "orders.csv", [HEADER, *good])
    _land(settings, "2026-01-06", "orders.csv", [HEADER, *good[:2]])
    extract_source(settings, "orders", "2026-01-05")  # the run died before validating
    out = extract_source(settings, "orders", "2026-01-06")
    assert out["days"] == ["2026-01-06"]
    validate_source(settings, "orders", "2026-01-06", out["days"])
    clean = settings.lake / "clean/orders/ds=2026-01-05/part-0.parquet"
    assert len(pd.read_parquet(clean)) == 5


CSV_SHAPES = {
    "plain": "a,b\n1,x\n2,y\n3,z\n",
    "no final newline": "a,b\n1,x\n2,y",
    "byte-order mark": "\ufeffa,b\n1,x\n2,y\n",
    "quoted field over two lines": 'a,b\n1,"x\ny"\n2,z\n',
    "quoted field on one line": 'a,b\n1,"x, y"\n2,z\n',
    "blank line inside": "a,b\n1,x\n\n2,y\n",
    "blank lines at the end": "a,b\n1,x\n2,y\n\n\n",
    "CRLF line ends": "a,b\r\n1,x\r\n2,y\r\n",
    "only a header": "a,b\n",
}


@pytest.mark.parametrize("shape", CSV_SHAPES)
def test_record_lines_agree_with_reading_record_by_record(shape, tmp_path):
    """The shortcut for a CSV with one line per record gives the line numbers
    the csv module counts, and stands aside for every other shape."""
    path = tmp_path / "drop.csv"
    path.write_bytes(CSV_SHAPES[shape].encode("utf-8"))
    n_rows = len(pd.read_csv(path, dtype=str, encoding="utf-8-sig"))
    assert _record_lines(path, n_rows) == _record_lines_by_csv(path, n_rows)
    shortcut = _one_line_per_record(path.read_bytes(), n_rows)
    assert shortcut == (
        shape in {"plain", "no final newline", "byte-order mark", "only a header"}
    )
    if shape == "blank line inside":  # the record after it is on line 4
        assert _record_lines(path, n_rows) == [2, 4]
