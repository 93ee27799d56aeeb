{#- A SQL string literal for a value that comes from outside (vars). Standard SQL doubles a
    quote; Spark SQL reads a backslash as an escape and two adjacent literals as one, so there a
    backslash and a quote are each escaped by a backslash. -#}
{% macro sql_string(value) -%}
    {{ return(adapter.dispatch('sql_string', 'rai')(value)) }}
{%- endmacro %}

{% macro default__sql_string(value) -%}
    '{{ value | string | replace("'", "''") }}'
{%- endmacro %}

{% macro spark__sql_string(value) -%}
    '{{ value | string | replace("\\", "\\\\") | replace("'", "\\'") }}'
{%- endmacro %}
