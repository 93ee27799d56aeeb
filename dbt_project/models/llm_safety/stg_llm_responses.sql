select
    cast(model_version as varchar) as model_version,
    cast(response_id as varchar) as response_id,
    cast(prompt_id as varchar) as prompt_id,
    cast(completion as varchar) as completion,
    cast(position as bigint) as position
from {{ source('llm_landing', 'llm_responses') }}
