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
-- bucket), for the days var monitoring_from .. monitoring_to; rebuilding a day replaces its
-- rows (delete+insert on day), so a window is the sum of its days.
with requests as (
    select * from {{ ref('stg_inference_requests') }}
    where day between cast({{ sql_string(var('monitoring_from')) }} as date)
        and cast({{ sql_string(var('monitoring_to')) }} as date)
),
counts as ({{ bucket_counts('requests', ref('monitoring_edges'), true) }})
select * from counts
