-- What each customer bought over the year before the run date: the facts RFM
-- scoring and CLV are computed from (models/segments.py). Every CRM customer
-- has a row; customers without completed orders carry zeros.
-- Money sums in DECIMAL: exact, so totals do not depend on thread order.
with activity as (
    select
        o.customer_id,
        date_diff('day', max(o.order_date), cast($ds as date)) as recency_days,
        count(distinct o.order_id) as orders_365d,
        cast(sum(cast(
            o.qty_units * o.unit_price_eur * (1 - o.discount_pct) as decimal(18, 6)
        )) as double) as spend_365d_eur,
        cast(sum(cast(
            o.qty_units * (o.unit_price_eur * (1 - o.discount_pct) - p.unit_cost_eur)
            as decimal(18, 6)
        )) as double) as margin_365d_eur,
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
