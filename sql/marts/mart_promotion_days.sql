-- Each day a promotion ran on a SKU, with the segment it targeted, from the
-- first order day to the run date. Category-wide promotions count for every
-- SKU of their category.
with bounds as (
    select min(order_date) as first_day, cast($ds as date) as last_day
    from stg_orders
),

promos as (
    select coalesce(pr.sku, p.sku) as sku, pr.promo_id, pr.target_segment,
        pr.discount_pct, pr.start_date, pr.end_date
    from stg_promotions as pr
    join stg_products as p
        on p.sku = pr.sku or (pr.sku is null and p.category = pr.category)
    where pr.status <> 'cancelled'
)

select distinct
    pm.sku,
    cast(d.day as date) as promo_date,
    pm.promo_id,
    pm.target_segment,
    pm.discount_pct
from promos as pm, bounds as b,
    range(greatest(pm.start_date, b.first_day), least(pm.end_date, b.last_day)
          + interval 1 day, interval 1 day) as d(day)
