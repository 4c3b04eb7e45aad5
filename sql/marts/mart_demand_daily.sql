-- Units sold per SKU x location x day on a dense calendar (zeros where nothing
-- sold), with the day's promotion and whether a stock-out censored the sales.
-- Only the days from $since on, and every day of the SKUs in $dirty_skus, are
-- computed: a full build passes the first day, the incremental build the
-- first day whose inputs changed (pipeline/warehouse_delta.py).
-- Money sums in DECIMAL: exact, so totals do not depend on thread order.
with calendar as (
    select cast(d as date) as sales_date
    from range(
        (select min(order_date) from stg_orders),
        cast($ds as date) + interval 1 day,
        interval 1 day
    ) as t(d)
),

dirty as (select unnest($dirty_skus::varchar[]) as sku),

grid as (
    select p.sku, l.location_id, c.sales_date
    from stg_products as p cross join stg_locations as l cross join calendar as c
    where c.sales_date >= cast($since as date)
    union all
    select p.sku, l.location_id, c.sales_date
    from stg_products as p cross join stg_locations as l cross join calendar as c
    where c.sales_date < cast($since as date) and p.sku in (from dirty)
),

sold as (
    select sku, location_id, order_date as sales_date,
        sum(qty_units) as units_sold,
        cast(sum(cast(
            qty_units * unit_price_eur * (1 - discount_pct) as decimal(18, 6)
        )) as double) as revenue_eur
    from stg_orders
    where status in ('completed', 'returned')
        and (order_date >= cast($since as date) or sku in (from dirty))
    group by all
),

promo as (
    select g.sku, g.sales_date, max(p.discount_pct) as promo_discount_pct
    from (select distinct sku, sales_date from grid) as g
    join stg_promotions as p
        on p.sku = g.sku and g.sales_date between p.start_date and p.end_date
    group by all
),

stock as (
    select * from stg_inventory
    where snapshot_date >= cast($since as date) or sku in (from dirty)
)

select
    g.sku,
    g.location_id,
    g.sales_date,
    coalesce(s.units_sold, 0) as units_sold,
    coalesce(s.revenue_eur, 0) as revenue_eur,
    coalesce(pr.promo_discount_pct, 0) as promo_discount_pct,
    coalesce(i.on_hand_units = 0, false) as stockout
from grid as g
left join sold as s using (sku, location_id, sales_date)
left join promo as pr using (sku, sales_date)
left join stock as i
    on i.sku = g.sku and i.location_id = g.location_id and i.snapshot_date = g.sales_date
