-- Units per SKU, day and buying customer's segment (null: a customer without
-- one), with the promotion's targeted segment kept apart by the model: the
-- input of models/segments.py response_from_daily. The join to each
-- customer's segment (the registered frame customer_segments) and the sum run
-- here, so the stage reads SKU x day x segment rows, not one per customer.
select
    u.sku,
    u.category,
    u.order_date,
    s.segment,
    sum(u.units) as units
from mart_segment_promo_units as u
left join customer_segments as s using (customer_id)
group by all
order by all
