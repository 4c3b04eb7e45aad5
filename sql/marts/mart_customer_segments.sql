-- RFM scores (1-5 by quintile) over the last year and a segment per customer.
with activity as (
    select
        customer_id,
        date_diff('day', max(order_date), cast($ds as date)) as recency_days,
        count(distinct order_id) as orders_365d,
        sum(qty_units * unit_price_eur * (1 - discount_pct)) as spend_365d_eur
    from stg_orders
    where status = 'completed' and order_date > cast($ds as date) - interval 365 day
    group by customer_id
),

scored as (
    select c.customer_id, c.signup_date, c.marketing_consent, a.*,
        6 - ntile(5) over (order by coalesce(a.recency_days, 9999)) as r_score,
        ntile(5) over (order by coalesce(a.orders_365d, 0)) as f_score,
        ntile(5) over (order by coalesce(a.spend_365d_eur, 0)) as m_score
    from stg_customers as c
    left join activity as a using (customer_id)
)

select
    customer_id,
    marketing_consent,
    recency_days,
    coalesce(orders_365d, 0) as orders_365d,
    coalesce(spend_365d_eur, 0) as spend_365d_eur,
    r_score, f_score, m_score,
    0.3 * r_score + 0.35 * f_score + 0.35 * m_score as rfm_score,
    case
        when signup_date > cast($ds as date) - interval 60 day then 'new'
        when r_score >= 4 and f_score >= 4 and m_score >= 4 then 'high_value'
        when r_score <= 2 and f_score >= 3 then 'churn_risk'
        when 0.3 * r_score + 0.35 * f_score + 0.35 * m_score < 2.5 then 'low_value'
        else 'potential'
    end as segment
from scored
