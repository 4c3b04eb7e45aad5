-- Customers (PII pseudonymised) as of the latest CRM snapshot on or before the run date.
with drops as (
    select *
    from read_parquet($lake_clean || '/crm_customers/*/*.parquet', hive_partitioning = true,
                      hive_types = {'ds': date})
    where ds <= cast($ds as date)
)

select
    customer_id,
    signup_date,
    region,
    loyalty_tier,
    marketing_consent,
    email_pseudonym,
    full_name_pseudonym
from drops
where ds = (select max(ds) from drops)
