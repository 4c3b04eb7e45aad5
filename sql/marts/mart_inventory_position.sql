-- Stock position per SKU x location at the end of the run date, with the
-- product and location terms the replenishment plan needs.
select
    i.sku,
    i.location_id,
    i.on_hand_units,
    i.on_order_units,
    i.on_order_arrival_date,
    p.category,
    p.unit_cost_eur,
    p.list_price_eur,
    p.lead_time_days,
    p.moq_units,
    p.case_pack_units,
    l.capacity_units,
    l.holding_cost_eur_per_unit_day
from stg_inventory as i
join stg_products as p using (sku)
join stg_locations as l using (location_id)
where i.snapshot_date = cast($ds as date)
