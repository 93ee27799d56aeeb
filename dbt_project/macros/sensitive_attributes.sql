{#- The sensitive attributes of the evaluation, from var('sensitive_attributes'): a list of
    {name, source} (a column of the subject attributes, kept as text) and
    {name, source, bins, labels} (a band of a numeric column). The pipeline passes them from
    the evaluation config (rai_pipeline.core.schemas.attributes.dbt_vars); names are checked
    there against the identifier rule and again here. -#}
{% macro sensitive_attributes() -%}
    {%- set attributes = var('sensitive_attributes', []) -%}
    {%- for attribute in attributes -%}
        {%- for key in ['name', 'source'] -%}
            {%- if not modules.re.fullmatch('[A-Za-z_][A-Za-z0-9_]*', attribute[key] | string) -%}
                {{ exceptions.raise_compiler_error(
                    "var('sensitive_attributes'): " ~ key ~ " must match "
                    ~ "^[A-Za-z_][A-Za-z0-9_]*$, got " ~ (attribute[key] | tojson)) }}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(attributes) }}
{%- endmacro %}

{#- The columns of the subject_attributes extract that the attributes read, once each:
    [{name, numeric}], numeric when a band is cut from the column. -#}
{% macro attribute_sources() -%}
    {%- set sources = [] -%}
    {%- set numeric = [] -%}
    {%- for attribute in sensitive_attributes() -%}
        {%- if attribute.get('bins') is not none and attribute.source not in numeric -%}
            {%- do numeric.append(attribute.source) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set seen = [] -%}
    {%- for attribute in sensitive_attributes() -%}
        {%- if attribute.source not in seen -%}
            {%- do seen.append(attribute.source) -%}
            {%- do sources.append({'name': attribute.source, 'numeric': attribute.source in numeric}) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(sources) }}
{%- endmacro %}

{#- A value as its group label, the rule of rai_pipeline.core.engine.slices.group_value: a
    missing value is 'unknown'; otherwise the text with backslash and '&' escaped by a
    backslash, and the literal text 'unknown' as '\unknown', so that every label is
    unambiguous (tests/unit/test_group_labels.py checks the two agree). -#}
{% macro group_value(column) -%}
    {%- set text = 'cast(' ~ column ~ ' as ' ~ dbt.type_string() ~ ')' -%}
    case
        when {{ column }} is null then 'unknown'
        when {{ text }} = 'unknown' then {{ sql_string('\\unknown') }}
        else replace(replace({{ text }}, {{ sql_string('\\') }}, {{ sql_string('\\\\') }}),
            '&', {{ sql_string('\\&') }})
    end
{%- endmacro %}

{#- SQL for one attribute's group of a row: the source value as its group label, or its band;
    a missing value is the group 'unknown'. A band's label is that of the first edge above the
    value (value < bins[0] is labels[0]; value >= the last edge is the last label); band labels
    need no escaping (the config refuses '&' and backslashes in them). -#}
{% macro attribute_value(attribute, relation) -%}
    {%- set column = relation ~ '.' ~ adapter.quote(attribute.source) -%}
    {%- if attribute.get('bins') is none -%}
        {{ group_value(column) }}
    {%- else -%}
        case
            when {{ column }} is null then 'unknown'
            {%- for edge in attribute.bins %}
            when {{ column }} < {{ edge | float }} then {{ sql_string(attribute.labels[loop.index0]) }}
            {%- endfor %}
            else {{ sql_string(attribute.labels[-1]) }}
        end
    {%- endif -%}
{%- endmacro %}
