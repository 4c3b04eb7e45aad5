-- SKU x day rows the price elasticity is fitted on (models/elasticity.py):
-- units summed over locations, the deepest discount, a stock-out anywhere.
-- The discount is the one sold lines carried where a location sold (the
-- calendar still lists paused or shrunk promotions at their planned depth),
-- else the calendar's. Aggregated here, so the stage reads SKU x days rather
-- than every SKU x location x day and every order line.
with line_discounts as (
    select sku, location_id, order_date as sales_date,
        max(discount_pct) as line_discount_pct
    from stg_orders
    where status in ('completed', 'returned')
    group by all
),

realised as (
    select d.sku, d.sales_date, d.units_sold, d.stockout,
        case when d.units_sold > 0 and l.line_discount_pct is not null
            then l.line_discount_pct else d.promo_discount_pct
        end as promo_discount_pct
    from mart_demand_daily as d
    left join line_discounts as l using (sku, location_id, sales_date)
)

select
    r.sku,
    p.category,
    r.sales_date,
    sum(r.units_sold) as units_sold,
    max(r.promo_discount_pct) as promo_discount_pct,
    bool_or(r.stockout) as stockout
from realised as r
join stg_products as p using (sku)
group by all
order by all
