{{
    config(
        materialized='incremental',
        incremental_strategy=replace_rows_strategy(),
        unique_key=['model_name', 'model_version'],
        partition_by=replace_rows_partitions(['model_name', 'model_version']),
        file_format=spark_file_format(),
        on_schema_change='fail',
        tags=['per_model_version'],
    )
}}

with

predictions as (

    select * from {{ ref('stg_predictions') }}
    where
        model_name = {{ sql_string(run_value('model_name', 'RAI_DBT_MODEL_NAME')) }}
        and model_version = {{ sql_string(run_value('model_version', 'RAI_DBT_MODEL_VERSION')) }}

),

examples_labeled as (

    select * from {{ ref('int_examples_labeled') }}

),

dataset_versions as (

    select dataset_version from {{ ref('stg_dataset_versions') }}

),

scored_examples as (

    select
        predictions.model_name,
        predictions.model_version,
        predictions.example_id,
        examples_labeled.label,
        predictions.score,
        {{ threshold_literal() }} as threshold
    from predictions
    inner join examples_labeled on examples_labeled.example_id = predictions.example_id

),

decided as (

    select
        *,
        cast(score >= threshold as integer) as decision
    from scored_examples

),

final as (

    select
        decided.model_name,
        decided.model_version,
        decided.example_id,
        decided.label,
        decided.score,
        decided.threshold,
        decided.decision,
        dataset_versions.dataset_version
    from decided
    cross join dataset_versions

)

select * from final
