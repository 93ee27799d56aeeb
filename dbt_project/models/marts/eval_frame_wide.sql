{{ config(materialized='view', tags=['per_model_version']) }}

{#- The evaluation frame with each configured sensitive attribute (var('sensitive_attributes'))
    as a column: what the slice engine, the data-quality checks and the audit trail read. A
    view, so its columns always follow the config of the latest build. -#}

with

frame as (

    select * from {{ ref('eval_frame') }}

),

subject_attributes as (

    select * from {{ ref('int_subject_attributes') }}

),

pivoted as (

    select
        dataset_version,
        example_id
        {%- for attribute in sensitive_attributes() %},
        max(case when attribute = {{ sql_string(attribute.name) }} then value end)
            as {{ adapter.quote(attribute.name) }}
        {%- endfor %}
    from subject_attributes
    group by dataset_version, example_id

),

final as (

    select
        frame.*
        {%- for attribute in sensitive_attributes() %},
        pivoted.{{ adapter.quote(attribute.name) }}
        {%- endfor %}
    from frame
    left join pivoted
        on pivoted.dataset_version = frame.dataset_version
        and pivoted.example_id = frame.example_id

)

select * from final
