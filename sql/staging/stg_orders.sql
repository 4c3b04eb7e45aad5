-- Order lines as of the run date: one row per (order_id, line_no), the latest
-- extract wins (late lines and corrections replace earlier versions).
-- $loaded_through: drops up to this day are in the warehouse already; only
-- later drops are read (the incremental build upserts them by line).
with lines as (
    select *
    from read_parquet($lake_clean || '/orders/*/*.parquet', hive_partitioning = true,
                      hive_types = {'ds': date})
    where ds <= cast($ds as date) and ds > cast($loaded_through as date)
)

select
    order_id,
    line_no,
    order_ts,
    cast(order_ts as date) as order_date,
    customer_id,
    sku,
    location_id,
    channel,
    qty as qty_units,
    unit_price as unit_price_eur,
    coalesce(discount_pct, 0) as discount_pct,
    promo_id,
    status,
    ds as extracted_on
from lines
qualify row_number() over (
    partition by order_id, line_no order by ds desc, order_ts desc
) = 1
