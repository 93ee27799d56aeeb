-- The LLM safety data checks, per landed model version: each rule's count of offending rows
-- and the first ids (sorted), as rai_pipeline.core.llm_safety.frame counts them. The
-- configured outcome labels come from the LLM config (var llm_outcome_labels).
{% set labels = var('llm_outcome_labels') %}

with

prompts as (select prompt_id from {{ ref('stg_llm_prompts') }}),

responses as (select model_version, prompt_id from {{ ref('stg_llm_responses') }}),

versions as (select model_version from {{ ref('stg_llm_versions') }}),

records as (

    select model_version, prompt_id, verdict
    from {{ ref('stg_llm_ratings') }}
    where rater_kind = 'record'

),

offending as (

    select responses.model_version, 'response_without_prompt' as "check", responses.prompt_id
    from responses
    left join prompts on responses.prompt_id = prompts.prompt_id
    where prompts.prompt_id is null

    union all

    select versions.model_version, 'prompt_without_response' as "check", prompts.prompt_id
    from versions
    cross join prompts
    left join responses
        on responses.model_version = versions.model_version
        and responses.prompt_id = prompts.prompt_id
    where responses.prompt_id is null

    union all

    select records.model_version, 'rating_outside_outcomes' as "check", records.prompt_id
    from records
    inner join prompts on records.prompt_id = prompts.prompt_id
    where records.verdict not in (
        {%- for label in labels %}{{ sql_string(label) }}{{ ", " if not loop.last }}{% endfor -%}
        {%- if not labels %}null{% endif -%}
    )

),

rules as (

    select versions.model_version, rule."check"
    from versions
    cross join (
        values ('response_without_prompt'), ('prompt_without_response'),
            ('rating_outside_outcomes')
    ) as rule ("check")

)

select
    rules.model_version,
    rules."check",
    count(offending.prompt_id) as "count",
    coalesce(
        array_to_string(list_slice(list_sort(list(offending.prompt_id)), 1, 5), ';'), ''
    ) as examples
from rules
left join offending
    on offending.model_version = rules.model_version and offending."check" = rules."check"
group by rules.model_version, rules."check"
