-- MASE denominator per series: mean absolute error of the 7-day seasonal naive
-- over the history known at the origin.
with lagged as (
    select sku, location_id, units_sold,
        lag(units_sold, 7) over (
            partition by sku, location_id order by sales_date
        ) as week_before_units
    from mart_demand_daily
    where sales_date <= cast($ds as date)
)

select sku, location_id, avg(abs(units_sold - week_before_units)) as mase_scale
from lagged
where week_before_units is not null
group by all
