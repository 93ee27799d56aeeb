{#- The columns the configured sensitive attributes read (macros/sensitive_attributes.sql):
    text trimmed, blank text as NULL; the sources of bands as numbers. -#}
with

source as (

    select * from {{ source('landing', 'subject_attributes') }}

),

renamed as (

    select
        cast(example_id as bigint) as example_id
        {%- for column in attribute_sources() %},
        {%- if column.numeric %}
        cast({{ adapter.quote(column.name) }} as {{ type_double() }}) as {{ adapter.quote(column.name) }}
        {%- else %}
        -- blank strings carry no information: treat them as missing
        nullif(trim(cast({{ adapter.quote(column.name) }} as {{ dbt.type_string() }})), '')
            as {{ adapter.quote(column.name) }}
        {%- endif %}
        {%- endfor %}
    from source

)

select * from renamed
