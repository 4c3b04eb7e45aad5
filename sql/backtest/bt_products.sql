-- Products from the last day's ERP snapshot (the backtest's stg_products).
select sku, category,
    cast(list_price as double) as list_price_eur,
    cast(lead_time_days as integer) as lead_time_days
from read_csv($products_csv, all_varchar = true, header = true)
where sku is not null
