-- Locations from the last day's ERP snapshot (the backtest's stg_locations).
select location_id, region
from read_csv($locations_csv, all_varchar = true, header = true)
where location_id is not null
