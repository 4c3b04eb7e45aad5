-- Units each customer bought per SKU and day, with the segment the line's
-- promotion targeted (null at full price): the history the promotion response
-- per segment and category is measured on (models/segments.py).
-- Only days from $since on (and every day of $dirty_skus) are computed.
select
    o.customer_id,
    o.sku,
    p.category,
    o.order_date,
    pr.target_segment,
    sum(o.qty_units) as units
from stg_orders as o
join stg_products as p using (sku)
left join stg_promotions as pr using (promo_id)
where o.status = 'completed' and o.order_date <= cast($ds as date)
    and (o.order_date >= cast($since as date)
        or o.sku in (select unnest($dirty_skus::varchar[])))
group by all
