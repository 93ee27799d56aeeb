{{ config(tags=['per_model_version'], meta={'dagster': {'ref': {'name': 'eval_frame'}}}) }}

{#- A model version that has predictions must have one for every labeled example: a partial
    scoring run would otherwise shrink the evaluation frame silently. Returns the examples
    missing from the frame of the version built (macros/run_value.sql). -#}

with

examples_labeled as (

    select example_id from {{ ref('int_examples_labeled') }}

),

current_frame as (

    select example_id from {{ ref('eval_frame') }}
    where
        model_name = {{ sql_string(run_value('model_name', 'RAI_DBT_MODEL_NAME')) }}
        and model_version = {{ sql_string(run_value('model_version', 'RAI_DBT_MODEL_VERSION')) }}

),

missing as (

    select examples_labeled.example_id
    from examples_labeled
    where
        exists (select 1 from current_frame)
        and not exists (
            select 1 from current_frame
            where current_frame.example_id = examples_labeled.example_id
        )

)

select * from missing
