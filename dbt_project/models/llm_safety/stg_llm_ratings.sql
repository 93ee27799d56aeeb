select
    cast(model_version as varchar) as model_version,
    cast(response_id as varchar) as response_id,
    cast(prompt_id as varchar) as prompt_id,
    cast(rater as varchar) as rater,
    cast(rater_kind as varchar) as rater_kind,
    cast(verdict as varchar) as verdict,
    cast(category as varchar) as category,
    cast(severity as varchar) as severity
from {{ source('llm_landing', 'llm_ratings') }}
