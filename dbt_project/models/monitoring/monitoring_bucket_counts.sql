{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['day'],
        on_schema_change='fail',
        tags=['monitoring_daily'],
    )
}}
-- The logged requests' bucket counts per day: one row per (day, feature, dimension, group,
-- bucket), for the days monitoring_from .. monitoring_to (macros/run_value.sql); rebuilding a day replaces its
-- rows (delete+insert on day), so a window is the sum of its days.
with requests as (
    select * from {{ ref('stg_inference_requests') }}
    where day between cast({{ sql_string(run_value('monitoring_from', 'RAI_DBT_MONITORING_FROM')) }} as date)
        and cast({{ sql_string(run_value('monitoring_to', 'RAI_DBT_MONITORING_TO')) }} as date)
),
counts as ({{ bucket_counts('requests', ref('monitoring_edges'), true) }})
select * from counts
