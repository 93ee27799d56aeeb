-- The logged requests as the evaluation sees its rows: the fixed columns, the outcome label
-- once it has arrived (null before), each sensitive attribute's group as the evaluation
-- labels it (a column named after the attribute), then the other logged columns.
{%- set names = sensitive_attributes() | map(attribute='name') | list -%}
{%- set fixed = ['request_id', 'day', 'day_key', 'ts', 'model_name', 'model_version', 'score', 'decision'] -%}
{%- set logged = [] -%}
{%- if execute -%}
    {%- for column in adapter.get_columns_in_relation(ref('stg_inference_requests')) -%}
        {%- if column.name not in fixed and column.name not in names -%}
            {%- do logged.append(column.name) -%}
        {%- endif -%}
    {%- endfor -%}
{%- endif %}
select
    requests.request_id,
    requests.day,
    cast(requests.day as {{ dbt.type_string() }}) as day_key,
    requests.ts,
    requests.model_name,
    requests.model_version,
    requests.score,
    requests.decision,
    labels.label,
    labels.label_day
    {%- for attribute in sensitive_attributes() %},
    {{ attribute_value(attribute, 'requests') }} as {{ adapter.quote(attribute.name) }}
    {%- endfor %}
    {%- for column in logged %},
    requests.{{ adapter.quote(column) }}
    {%- endfor %}
from {{ ref('stg_inference_requests') }} as requests
left join {{ ref('stg_outcome_labels') }} as labels on labels.request_id = requests.request_id
