-- Direct multi-step rows: features known at the forecast origin, covariates of
-- the target day (calendar, planned promotion), and the target when known.
-- A row never uses sales after its origin_date (no leakage).
with history as (
    select *,
        avg(units_sold) over w7 as mean_7d_units,
        avg(units_sold) over w28 as mean_28d_units,
        stddev_samp(units_sold) over w28 as std_28d_units,
        avg(case when units_sold = 0 then 1 else 0 end) over w28 as zero_share_28d,
        avg(cast(stockout as int)) over w28 as stockout_share_28d
    from mart_demand_daily
    window
        w7 as (partition by sku, location_id order by sales_date rows 6 preceding),
        w28 as (partition by sku, location_id order by sales_date rows 27 preceding)
),

origins as (
    select * from history
    where sales_date > cast($ds as date) - to_days(cast($train_window_days + $horizon_days as integer))
),

steps as (
    select o.*, h.step as horizon_day, o.sales_date + cast(h.step as integer) as target_date
    from origins as o cross join range(1, $horizon_days + 1) as h(step)
)

select
    s.sku,
    s.location_id,
    s.sales_date as origin_date,
    s.target_date,
    s.horizon_day,
    s.units_sold as last_day_units,
    s.mean_7d_units,
    s.mean_28d_units,
    coalesce(s.std_28d_units, 0) as std_28d_units,
    s.zero_share_28d,
    s.stockout_share_28d,
    lag7.units_sold as same_weekday_last_week_units,
    dayofweek(s.target_date) as target_dow,
    month(s.target_date) as target_month,
    coalesce(pr.promo_discount_pct, 0) as target_promo_discount_pct,
    p.list_price_eur,
    p.category,
    t.units_sold as target_units,
    t.stockout as target_censored
from steps as s
join stg_products as p using (sku)
left join mart_demand_daily as lag7
    on lag7.sku = s.sku and lag7.location_id = s.location_id
    and lag7.sales_date = s.target_date - to_days(cast(7 * ceil(s.horizon_day / 7) as integer))
left join mart_demand_daily as t
    on t.sku = s.sku and t.location_id = s.location_id and t.sales_date = s.target_date
left join (
    select p.sku, d.target_date, max(p.discount_pct) as promo_discount_pct
    from stg_promotions as p
    join (select distinct target_date from steps) as d
        on d.target_date between p.start_date and p.end_date
    where p.sku is not null
        and (p.status <> 'paused' or d.target_date <= cast($ds as date))
    group by all
) as pr on pr.sku = s.sku and pr.target_date = s.target_date
