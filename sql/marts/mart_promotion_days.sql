-- Each day a promotion ran on a SKU, with the segment it targeted, from the
-- first order day to the run date. Category-wide promotions count for every
-- SKU of their category. Cancelled promotions never ran; a paused one ran
-- until some unknown day, so only its days with an order line carrying its
-- promo_id count (its other days are neither treated nor known to be plain).
with bounds as (
    select min(order_date) as first_day, cast($ds as date) as last_day
    from stg_orders
),

promos as (
    select coalesce(pr.sku, p.sku) as sku, pr.promo_id, pr.target_segment,
        pr.discount_pct, pr.start_date, pr.end_date, pr.status
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
where pm.status <> 'paused'
    or exists (
        select 1 from stg_orders as o
        where o.promo_id = pm.promo_id and o.order_date = cast(d.day as date)
    )
