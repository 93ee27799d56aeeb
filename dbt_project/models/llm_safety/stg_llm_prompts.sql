-- The prompt set: the fixed columns typed, the configured dimensions as landed.
select
    * replace (
        cast(prompt_id as varchar) as prompt_id,
        cast(prompt_set as varchar) as prompt_set,
        cast(expected as varchar) as expected,
        cast(text as varchar) as text,
        cast(position as bigint) as position
    )
from {{ source('llm_landing', 'llm_prompts') }}
