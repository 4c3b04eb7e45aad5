-- What each customer bought over the year before the run date: the facts RFM
-- scoring and CLV are computed from (models/segments.py). Every CRM customer
-- has a row; customers without completed orders carry zeros.
with activity as (
    select
        o.customer_id,
        date_diff('day', max(o.order_date), cast($ds as date)) as recency_days,
        count(distinct o.order_id) as orders_365d,
        sum(o.qty_units * o.unit_price_eur * (1 - o.discount_pct)) as spend_365d_eur,
        sum(o.qty_units * (o.unit_price_eur * (1 - o.discount_pct) - p.unit_cost_eur))
            as margin_365d_eur,
        min(o.order_date) as first_order_date
    from stg_orders as o
    join stg_products as p using (sku)
    where o.status = 'completed'
        and o.order_date > cast($ds as date) - interval 365 day
        and o.order_date <= cast($ds as date)
    group by o.customer_id
)

select
    c.customer_id,
    c.signup_date,
    c.region,
    c.marketing_consent,
    a.recency_days,
    coalesce(a.orders_365d, 0) as orders_365d,
    coalesce(a.spend_365d_eur, 0) as spend_365d_eur,
    coalesce(a.margin_365d_eur, 0) as margin_365d_eur,
    a.first_order_date
from stg_customers as c
left join activity as a using (customer_id)
