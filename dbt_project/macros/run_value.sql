{#- A value that changes from one run to the next (the model version built, the days of a
    monitoring run): var(name) when given, else the environment variable env_name, which is
    how the pipeline passes it. Changed --vars make dbt parse the whole project again; a changed
    environment variable only the files that read it (rai_pipeline/defs/dbt/invocation.py).
    Required when the model runs; empty while dbt only parses. -#}
{% macro run_value(name, env_name) -%}
    {%- set value = var(name, env_var(env_name, '')) | string -%}
    {%- if execute and value == '' -%}
        {{ exceptions.raise_compiler_error(
            "var('" ~ name ~ "') or the environment variable " ~ env_name ~ " must be set") }}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}
