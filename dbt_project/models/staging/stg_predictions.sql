{{ config(tags=['per_model_version']) }}

with

source as (

    select * from {{ source('landing', 'predictions') }}

),

renamed as (

    select
        cast(model_name as {{ dbt.type_string() }}) as model_name,
        cast(model_version as {{ dbt.type_string() }}) as model_version,
        cast(example_id as bigint) as example_id,
        cast(score as {{ type_double() }}) as score,
        cast(scored_at_run as {{ dbt.type_string() }}) as scored_at_run
    from source

)

select * from renamed
