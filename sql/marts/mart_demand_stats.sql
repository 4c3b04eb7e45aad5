-- Each series' statistics as of the end of each day: all a forecast made that
-- evening may use. Windows count rows of the dense daily grid, so every value
-- on day d depends only on days <= d. Stock-out days (censored sales) are left
-- out of the *_uncensored mean.
select
    sku,
    location_id,
    sales_date,
    units_sold as last_day_units,
    cast(stockout as int) as last_day_stockout,
    avg(units_sold) over w7 as mean_7d_units,
    avg(units_sold) over w28 as mean_28d_units,
    avg(units_sold) over w91 as mean_91d_units,
    coalesce(stddev_samp(units_sold) over w28, 0) as std_28d_units,
    avg(case when not stockout then units_sold end) over w28
        as mean_28d_uncensored_units,
    avg(case when units_sold = 0 then 1.0 else 0.0 end) over w28 as zero_share_28d,
    avg(cast(stockout as double)) over w28 as stockout_share_28d,
    count(*) over w91 / greatest(count(nullif(units_sold, 0)) over w91, 1)
        as mean_interval_days,
    date_diff(
        'day',
        max(case when units_sold > 0 then sales_date end) over w_all,
        sales_date
    ) as days_since_sale,
    avg(units_sold) over same_weekday_4w as same_weekday_mean_4w_units
from mart_demand_daily
window
    w7 as (partition by sku, location_id order by sales_date rows 6 preceding),
    w28 as (partition by sku, location_id order by sales_date rows 27 preceding),
    w91 as (partition by sku, location_id order by sales_date rows 90 preceding),
    w_all as (
        partition by sku, location_id order by sales_date
        rows between unbounded preceding and current row
    ),
    same_weekday_4w as (
        partition by sku, location_id, dayofweek(sales_date)
        order by sales_date rows 3 preceding
    )
