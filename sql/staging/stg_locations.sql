-- Locations as of the latest ERP snapshot on or before the run date.
with drops as (
    select *
    from read_parquet($lake_clean || '/erp_locations/*/*.parquet', hive_partitioning = true,
                      hive_types = {'ds': date})
    where ds <= cast($ds as date)
)

select
    location_id,
    region,
    capacity_units,
    holding_cost_per_unit_day as holding_cost_eur_per_unit_day
from drops
where ds = (select max(ds) from drops)
