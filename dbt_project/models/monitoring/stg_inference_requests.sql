-- The logged requests of the monitored model: the fixed columns typed, the features and the
-- attribute sources as logged.
select
    * replace (
        cast(request_id as varchar) as request_id,
        cast(day as date) as day,
        cast(ts as timestamp) as ts,
        cast(model_name as varchar) as model_name,
        cast(model_version as varchar) as model_version,
        cast(score as double) as score,
        cast(decision as integer) as decision
    )
from {{ source('monitoring_landing', 'requests') }}
where model_name = {{ sql_string(var('monitoring_model_name')) }}
