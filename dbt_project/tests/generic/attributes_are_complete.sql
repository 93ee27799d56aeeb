{#- Fails on each example of the current dataset version that does not have exactly one row
    per configured sensitive attribute (var('sensitive_attributes')). -#}
{% test attributes_are_complete(model) %}

{%- set names = [] -%}
{%- for attribute in sensitive_attributes() -%}
    {%- do names.append(attribute.name) -%}
{%- endfor %}

with

current_version as (

    select dataset_version from {{ ref('stg_dataset_versions') }}

),

examples as (

    select example_id from {{ ref('stg_examples') }}

),

counted as (

    select
        examples.example_id,
        count(attributes.attribute) as n_attributes,
        count(distinct attributes.attribute) as n_distinct
    from examples
    left join {{ model }} as attributes
        on attributes.example_id = examples.example_id
        and attributes.dataset_version = (select dataset_version from current_version)
        {%- if names %}
        and attributes.attribute in ({% for name in names %}{{ sql_string(name) }}{% if not loop.last %}, {% endif %}{% endfor %})
        {%- endif %}
    group by examples.example_id

)

select * from counted
where n_attributes != {{ names | length }} or n_distinct != {{ names | length }}

{% endtest %}
