-- The reference: the evaluation rows of the deployed version (var monitoring_model_name /
-- monitoring_model_version) with their features and the attribute sources (a source that is
-- also a feature is read once, from the features).
{%- set feature_columns = [] -%}
{%- if execute -%}
    {%- for column in adapter.get_columns_in_relation(ref('stg_examples')) -%}
        {%- do feature_columns.append(column.name) -%}
    {%- endfor -%}
{%- endif %}
select
    frame.example_id,
    frame.score,
    frame.label,
    frame.decision,
    examples.* exclude (example_id)
    {%- for source in attribute_sources() if source.name not in feature_columns %},
    attributes.{{ adapter.quote(source.name) }}
    {%- endfor %}
from {{ ref('eval_frame') }} as frame
inner join {{ ref('stg_examples') }} as examples on examples.example_id = frame.example_id
inner join {{ ref('stg_subject_attributes') }} as attributes
    on attributes.example_id = frame.example_id
where
    frame.model_name = {{ sql_string(var('monitoring_model_name')) }}
    and frame.model_version = {{ sql_string(var('monitoring_model_version')) }}
