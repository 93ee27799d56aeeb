select
    cast(request_id as varchar) as request_id,
    cast(label as integer) as label,
    cast(label_day as date) as label_day
from {{ source('monitoring_landing', 'labels') }}
