-- Products as of the latest ERP snapshot on or before the run date.
with drops as (
    select *
    from read_parquet($lake_clean || '/erp_products/*/*.parquet', hive_partitioning = true,
                      hive_types = {'ds': date})
    where ds <= cast($ds as date)
)

select
    sku,
    category,
    unit_cost as unit_cost_eur,
    list_price as list_price_eur,
    supplier_id,
    lead_time_days,
    moq as moq_units,
    case_pack as case_pack_units
from drops
where ds = (select max(ds) from drops)
