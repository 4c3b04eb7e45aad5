-- How strongly each segment answers a promotion aimed at it: its share of the
-- units of those promotions over its share of units bought at full price.
with lines as (
    select o.qty_units, s.segment, p.target_segment
    from stg_orders as o
    join mart_customer_segments as s using (customer_id)
    left join stg_promotions as p using (promo_id)
    where o.status = 'completed'
),

targeted as (
    select target_segment as segment,
        sum(case when segment = target_segment then qty_units else 0 end)
            / sum(qty_units) as promo_share
    from lines
    where target_segment is not null
    group by all
),

baseline as (
    select segment,
        sum(qty_units) / (select sum(qty_units) from lines where target_segment is null)
            as base_share
    from lines
    where target_segment is null
    group by all
)

select
    b.segment,
    b.base_share,
    coalesce(t.promo_share, b.base_share) as promo_share,
    coalesce(t.promo_share, b.base_share) / b.base_share as response_lift,
    (select count(*) from mart_customer_segments as m
     where m.segment = b.segment and m.marketing_consent) as consenting_customers
from baseline as b
left join targeted as t using (segment)
