{#- The decision threshold from var('threshold') as a SQL double literal; it must be a number
    in [0, 1] (pass it with --vars as a number, not a string). -#}
{% macro threshold_literal() -%}
    {%- set threshold = var('threshold') -%}
    {%- if threshold is boolean or threshold is not number or threshold < 0 or threshold > 1 -%}
        {{ exceptions.raise_compiler_error(
            "var('threshold') must be a number in [0, 1], got " ~ (threshold | tojson)) }}
    {%- endif -%}
    cast({{ threshold }} as {{ type_double() }})
{%- endmacro %}
