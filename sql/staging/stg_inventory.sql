-- End-of-day stock and open purchase orders per SKU x location and day.
-- $loaded_through: rows of drops up to this day with snapshots up to this day
-- are in the warehouse already; only the others are read (and upserted).
select
    snapshot_date,
    sku,
    location_id,
    on_hand as on_hand_units,
    on_order as on_order_units,
    on_order_arrival as on_order_arrival_date
from read_parquet($lake_clean || '/erp_inventory/*/*.parquet', hive_partitioning = true,
                  hive_types = {'ds': date})
where ds <= cast($ds as date) and snapshot_date <= cast($ds as date)
    and (ds > cast($loaded_through as date)
        or snapshot_date > cast($loaded_through as date))
qualify row_number() over (
    partition by snapshot_date, sku, location_id order by ds desc
) = 1
