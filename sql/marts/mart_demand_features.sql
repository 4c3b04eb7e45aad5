-- Direct multi-step rows (SKU x location x origin x horizon day): the series'
-- statistics at the origin (mart_demand_stats), and what is known in advance
-- about the target day (calendar, holidays, planned promotion and price).
-- No feature reads sales after origin_date; target_units is the label only.
-- Only rows whose target day is $since or later (and every row of
-- $dirty_skus) are computed: the rows whose inputs an incremental build changed.
-- Training reads a sample of the rows anyway: on a big market the origins
-- older than the holdout keep only $keep_per_million rows in a million, chosen
-- by a hash of the row's key, so a row is kept or not whatever the run date.
with dirty as (select unnest($dirty_skus::varchar[]) as sku),

origins as (
    select * from mart_demand_stats
    where sales_date <= cast($ds as date)
        and sales_date > cast($ds as date)
            - to_days(cast($train_window_days + $horizon_days as integer))
        and date_diff('day', sales_date, cast($ds as date)) % $origin_step_days = 0
        and (sales_date >= cast($since as date) - to_days(cast($horizon_days as integer))
            or sku in (from dirty))
),

steps as (
    select o.*, h.step as horizon_day,
        o.sales_date + cast(h.step as integer) as target_date,
        -- the latest day on or before the origin with the target's weekday
        o.sales_date + cast(h.step as integer)
            - to_days(cast(7 * ceil(h.step / 7) as integer)) as same_weekday_date
    from origins as o cross join range(1, $horizon_days + 1) as h(step)
    where (o.sales_date + cast(h.step as integer) >= cast($since as date)
            or o.sku in (from dirty))
        -- origins from $full_origin_days before $ds on (the holdout and the
        -- forecast) in full; of older ones a fixed hash sample of rows
        and (o.sales_date >= cast($ds as date)
                - to_days(cast($full_origin_days as integer))
            or hash(o.sku, o.location_id, o.sales_date, h.step) % 1000000
                < $keep_per_million)
),

target_days as (select distinct sku, target_date from steps),

products as (
    select *,
        -- a decimal sum is exact; a double one depends on the order threads add in
        list_price_eur
            / avg(cast(list_price_eur as decimal(18, 4))) over (partition by category)
            as price_vs_category
    from stg_products
)

select
    s.sku,
    s.location_id,
    s.sales_date as origin_date,
    s.target_date,
    s.horizon_day,
    s.last_day_units,
    s.last_day_stockout,
    s.mean_7d_units,
    s.mean_28d_units,
    s.mean_91d_units,
    s.std_28d_units,
    coalesce(s.mean_28d_uncensored_units, s.mean_28d_units) as mean_28d_uncensored_units,
    s.zero_share_28d,
    s.stockout_share_28d,
    s.mean_interval_days,
    coalesce(s.days_since_sale, 999) as days_since_sale,
    wk.last_day_units as same_weekday_last_week_units,
    wk.same_weekday_mean_4w_units,
    dayofweek(s.target_date) as target_dow,
    month(s.target_date) as target_month,
    dayofmonth(s.target_date) as target_day_of_month,
    cast(hol.holiday_date is not null as int) as target_is_holiday,
    coalesce(pr.discount_pct, 0) as target_promo_discount_pct,
    cast(pr.discount_pct is not null as int) as target_on_promo,
    1 - coalesce(pr.discount_pct, 0) as target_relative_price,
    p.list_price_eur * (1 - coalesce(pr.discount_pct, 0)) as target_price_eur,
    coalesce(gap.days_since_promo, 999) as days_since_promo,
    coalesce(gap.days_until_promo, 999) as days_until_promo,
    pr.target_segment as target_promo_segment,
    p.list_price_eur,
    p.price_vs_category,
    p.lead_time_days,
    p.category,
    l.region,
    t.units_sold as target_units,
    t.stockout as target_censored
from steps as s
join products as p using (sku)
join stg_locations as l using (location_id)
left join mart_demand_stats as wk
    on wk.sku = s.sku and wk.location_id = s.location_id
    and wk.sales_date = s.same_weekday_date
left join calendar_holidays as hol on hol.holiday_date = s.target_date
left join (
    -- the planned promotion of each SKU on each target day (deepest wins; of
    -- equal discounts the first segment by name, whatever the row order)
    select d.sku, d.target_date, max(p.discount_pct) as discount_pct,
        first(p.target_segment order by p.discount_pct desc, p.target_segment)
            as target_segment
    from target_days as d
    join stg_promotions as p
        on p.sku = d.sku and d.target_date between p.start_date and p.end_date
    where p.status <> 'paused' or d.target_date <= cast($ds as date)
    group by d.sku, d.target_date
) as pr on pr.sku = s.sku and pr.target_date = s.target_date
left join (
    select d.sku, d.target_date,
        date_diff('day', max(p.end_date) filter (p.end_date < d.target_date),
            d.target_date) as days_since_promo,
        date_diff('day', d.target_date,
            min(p.start_date) filter (p.start_date > d.target_date)) as days_until_promo
    from target_days as d join stg_promotions as p on p.sku = d.sku
    group by d.sku, d.target_date
) as gap on gap.sku = s.sku and gap.target_date = s.target_date
left join mart_demand_daily as t
    on t.sku = s.sku and t.location_id = s.location_id and t.sales_date = s.target_date
