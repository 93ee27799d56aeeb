{#- A SQL string literal for a value that comes from outside (vars), with quotes doubled. -#}
{% macro sql_string(value) -%}
    '{{ value | string | replace("'", "''") }}'
{%- endmacro %}
