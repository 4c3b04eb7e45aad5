-- Each series' statistics as of the end of each day: all a forecast made that
-- evening may use. Windows count rows of the dense daily grid, so every value
-- on day d depends only on days <= d. Stock-out days (censored sales) are left
-- out of the *_uncensored mean.
-- Only days from $since on (and every day of $dirty_skus) are computed; they
-- look back at most 90 days, and the last sale before that comes from
-- earlier_sale. Sums of integer units are exact (the standard deviation too,
-- from sums rather than a running update): a value does not depend on where its
-- window starts in what was read, so an incremental build matches a full one.
with dirty as (select unnest($dirty_skus::varchar[]) as sku),

daily as (
    select sku, location_id, sales_date, units_sold, stockout
    from mart_demand_daily
    where sales_date >= cast($since as date) - interval 91 day or sku in (from dirty)
),

earlier_sale as (
    select sku, location_id, max(sales_date) as last_sale_date
    from mart_demand_daily
    where units_sold > 0 and sales_date < cast($since as date) - interval 91 day
        and sku not in (from dirty)
    group by all
),

windowed as (
    select
        sku,
        location_id,
        sales_date,
        units_sold as last_day_units,
        cast(stockout as int) as last_day_stockout,
        avg(units_sold) over w7 as mean_7d_units,
        avg(units_sold) over w28 as mean_28d_units,
        avg(units_sold) over w91 as mean_91d_units,
        count(*) over w28 as n_28d,
        sum(units_sold) over w28 as sum_28d,
        sum(units_sold * units_sold) over w28 as sum_sq_28d,
        avg(case when not stockout then units_sold end) over w28
            as mean_28d_uncensored_units,
        avg(case when units_sold = 0 then 1.0 else 0.0 end) over w28
            as zero_share_28d,
        avg(cast(stockout as double)) over w28 as stockout_share_28d,
        count(*) over w91 / greatest(count(nullif(units_sold, 0)) over w91, 1)
            as mean_interval_days,
        max(case when units_sold > 0 then sales_date end) over w_all
            as last_sale_in_window,
        avg(units_sold) over same_weekday_4w as same_weekday_mean_4w_units
    from daily
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
)

select
    w.sku,
    w.location_id,
    w.sales_date,
    w.last_day_units,
    w.last_day_stockout,
    w.mean_7d_units,
    w.mean_28d_units,
    w.mean_91d_units,
    case when w.n_28d > 1 then sqrt(greatest(
        (w.n_28d * w.sum_sq_28d - w.sum_28d * w.sum_28d) / (w.n_28d * (w.n_28d - 1)),
        0  -- float units (the recursive backtest's forecasts) may round below 0
    )) else 0 end as std_28d_units,
    w.mean_28d_uncensored_units,
    w.zero_share_28d,
    w.stockout_share_28d,
    w.mean_interval_days,
    date_diff(
        'day', coalesce(w.last_sale_in_window, e.last_sale_date), w.sales_date
    ) as days_since_sale,
    w.same_weekday_mean_4w_units
from windowed as w
left join earlier_sale as e using (sku, location_id)
where w.sales_date >= cast($since as date) or w.sku in (from dirty)
