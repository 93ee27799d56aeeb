{#- Fails on each row of a banded attribute (var('sensitive_attributes') entries with bins)
    whose value is neither one of its labels nor 'unknown'. -#}
{% test bands_take_their_labels(model) %}

{%- set banded = [] -%}
{%- for attribute in sensitive_attributes() if attribute.get('bins') is not none -%}
    {%- do banded.append(attribute) -%}
{%- endfor %}

select attribute, value
from {{ model }}
where
    {%- for attribute in banded %}
    (attribute = {{ sql_string(attribute.name) }} and value not in (
        {%- for label in attribute.labels %}{{ sql_string(label) }}, {% endfor %}'unknown'))
    {%- if not loop.last %} or{% endif %}
    {%- else %}
    1 = 0
    {%- endfor %}

{% endtest %}
