-- Per SKU: in-stock days since it last sold anywhere, up to the run date (the
-- promotion policy's ageing stock). A day every location was stocked out is
-- not an unsold day: nothing could sell. A SKU that never sold counts every
-- in-stock day of the history. One row per SKU, whatever the history's length.
with sku_days as (
    select sku, sales_date,
        sum(units_sold) as units_sold,
        bool_and(stockout) as stockout
    from mart_demand_daily
    where sales_date <= cast($ds as date)
    group by all
),

last_sale as (
    select sku, max(sales_date) filter (units_sold > 0) as last_sale_date
    from sku_days
    group by all
)

select
    d.sku,
    count(*) filter (
        (d.sales_date > l.last_sale_date or l.last_sale_date is null)
        and not d.stockout
    ) as unsold_days
from sku_days as d
join last_sale as l using (sku)
group by all
order by d.sku
