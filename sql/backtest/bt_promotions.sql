-- Marketing's promotion calendar from the last day's snapshot. The calendar is
-- planned ahead, so every origin of the backtest could have known it.
select promo_id, sku,
    cast(start_date as date) as start_date,
    cast(end_date as date) as end_date,
    cast(discount_pct as double) as discount_pct,
    target_segment, status
from read_json($promotions_jsonl, format = 'newline_delimited')
where sku is not null
