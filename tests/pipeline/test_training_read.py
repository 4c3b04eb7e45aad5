"""Training reads a bounded, seeded sample of the feature rows on a big market."""

import pandas as pd

from pipeline import forecasting
from pipeline.warehouse import read_warehouse
from tests.conftest import XS_END


def test_known_rows_are_capped_keep_the_holdout_and_repeat(xs_ingested):
    origin = pd.Timestamp(XS_END) - pd.Timedelta(days=xs_ingested.holdout_days)
    with read_warehouse(xs_ingested) as con:
        known, holdout = con.execute(
            "select count(*), count(*) filter (origin_date = cast($o as date)) "
            "from mart_demand_features where target_units is not null",
            {"o": f"{origin:%Y-%m-%d}"},
        ).fetchone()
    everything = forecasting._known_rows(xs_ingested, origin)
    assert len(everything) == known  # under the cap: every row

    capped = xs_ingested.replace(training_read_rows=known // 4)
    sample = forecasting._known_rows(capped, origin)
    again = forecasting._known_rows(capped, origin)
    pd.testing.assert_frame_equal(sample, again)
    assert (sample.origin_date == origin).sum() == holdout
    others = len(sample) - holdout
    assert 0.15 * known < others < 0.35 * known
    assert sample.target_units.notna().all()
