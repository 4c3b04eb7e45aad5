-- Promotion return per sales channel and targeted segment over the 90 days to
-- the run date. ROI = margin_eur / discount_eur (pipeline/kpi.py
-- promotion_roi): margin_eur is already after the discount, the marketing
-- cost, so it is the business's (revenue - marketing cost) / marketing cost
-- and the discount must not be subtracted again.
-- Money sums in DECIMAL: exact, so totals do not depend on thread order.
select
    o.channel,
    pr.target_segment,
    count(distinct o.promo_id) as promotions,
    sum(o.qty_units) as units,
    cast(sum(cast(
        o.qty_units * o.unit_price_eur * (1 - o.discount_pct) as decimal(18, 6)
    )) as double) as revenue_eur,
    cast(sum(cast(
        o.qty_units * o.unit_price_eur * o.discount_pct as decimal(18, 6)
    )) as double) as discount_eur,
    cast(sum(cast(
        o.qty_units * (o.unit_price_eur * (1 - o.discount_pct) - p.unit_cost_eur)
        as decimal(18, 6)
    )) as double) as margin_eur
from stg_orders as o
join stg_products as p using (sku)
join stg_promotions as pr using (promo_id)
where o.status = 'completed'
    and o.discount_pct > 0
    and o.order_date > cast($ds as date) - interval 90 day
    and o.order_date <= cast($ds as date)
group by all
