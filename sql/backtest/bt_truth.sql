-- The simulator's true expected demand (units/day) on the scored target days.
select sku, location_id, cast(date as date) as target_date,
    expected_units
from read_parquet($truth_files)
