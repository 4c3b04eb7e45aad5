-- The backtest's own daily history straight from the landing extracts: the
-- same shape as mart_demand_daily, built without the daily pipeline. Rows the
-- quality gate would quarantine (no SKU, qty not a positive integer, price not
-- a number, unknown status) are left out; the latest extract of a line wins.
with lines as (
    select order_id, line_no, sku, location_id, cast(order_ts as date) as sales_date,
        try_cast(qty as integer) as qty_units, status,
        cast(regexp_extract(filename, '(\d{4}-\d{2}-\d{2})/orders\.csv$', 1) as date)
            as extracted_on
    from read_csv($orders_glob, all_varchar = true, filename = true, header = true)
    where sku is not null and try_cast(unit_price as double) is not null
    qualify row_number() over (
        partition by order_id, line_no order by extracted_on desc, order_ts desc
    ) = 1
),

sold as (
    select sku, location_id, sales_date, sum(qty_units) as units_sold
    from lines
    where qty_units > 0 and status in ('completed', 'returned')
        and sales_date between cast($start as date) and cast($end as date)
    group by all
),

stock as (
    select sku, location_id, cast(snapshot_date as date) as sales_date,
        bool_or(try_cast(on_hand as integer) = 0) as stockout
    from read_csv($inventory_glob, all_varchar = true, header = true)
    where cast(snapshot_date as date) between cast($start as date) and cast($end as date)
    group by all
),

grid as (
    select p.sku, l.location_id, cast(d as date) as sales_date
    from stg_products as p cross join stg_locations as l
    cross join range(cast($start as date), cast($end as date) + interval 1 day,
        interval 1 day) as t(d)
)

select g.sku, g.location_id, g.sales_date,
    coalesce(s.units_sold, 0) as units_sold,
    coalesce(k.stockout, false) as stockout
from grid as g
left join sold as s using (sku, location_id, sales_date)
left join stock as k using (sku, location_id, sales_date)
