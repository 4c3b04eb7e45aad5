-- Marketing's promotion calendar as of the latest snapshot on or before the run date.
with drops as (
    select *
    from read_parquet($lake_clean || '/marketing_promotions/*/*.parquet', hive_partitioning = true,
                      hive_types = {'ds': date})
    where ds <= cast($ds as date)
)

select
    promo_id,
    sku,
    category,
    start_date,
    end_date,
    discount_pct,
    channel,
    target_segment,
    budget as budget_eur,
    status
from drops
where ds = (select max(ds) from drops)
