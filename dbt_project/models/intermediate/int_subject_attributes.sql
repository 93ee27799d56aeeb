{{
    config(
        materialized='incremental',
        incremental_strategy=replace_rows_strategy(),
        unique_key=['dataset_version'],
        partition_by=replace_rows_partitions(['dataset_version']),
        file_format=spark_file_format(),
        on_schema_change='fail',
    )
}}

{#- One row per (dataset version, example, sensitive attribute): the example's group. Every
    example of the data set has one row per configured attribute; a missing value, or an
    example without an attribute row, is the group 'unknown'. Each dataset version's rows
    replace that version's only, so frames evaluated on earlier versions keep their groups. -#}

with

examples as (

    select example_id from {{ ref('stg_examples') }}

),

subject_attributes as (

    select * from {{ ref('stg_subject_attributes') }}

),

dataset_versions as (

    select dataset_version from {{ ref('stg_dataset_versions') }}

),

attributed as (

    select
        examples.example_id
        {%- for column in attribute_sources() %},
        subject_attributes.{{ adapter.quote(column.name) }}
        {%- endfor %}
    from examples
    left join subject_attributes on subject_attributes.example_id = examples.example_id

),

grouped as (

    {%- for attribute in sensitive_attributes() %}
    select
        example_id,
        cast({{ sql_string(attribute.name) }} as {{ dbt.type_string() }}) as attribute,
        cast({{ attribute_value(attribute, 'attributed') }} as {{ dbt.type_string() }}) as value
    from attributed
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- else %}
    -- no attributes configured: no rows
    select
        cast(null as bigint) as example_id,
        cast(null as {{ dbt.type_string() }}) as attribute,
        cast(null as {{ dbt.type_string() }}) as value
    from attributed
    where 1 = 0
    {%- endfor %}

),

final as (

    select
        dataset_versions.dataset_version,
        grouped.example_id,
        grouped.attribute,
        grouped.value
    from grouped
    cross join dataset_versions

)

select * from final
