{#- A 64-bit floating-point type, spelled as each warehouse spells it (PostgreSQL has no
    `double`; dbt's type_float() is 32-bit on Spark). -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'rai')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double precision
{%- endmacro %}

{% macro duckdb__type_double() -%}
    double
{%- endmacro %}

{% macro spark__type_double() -%}
    double
{%- endmacro %}

{#- How an incremental model replaces the rows of one key (a model version, a dataset version)
    and keeps the others: delete+insert where the warehouse deletes rows; on Spark, whose
    Parquet tables cannot delete, the key is the table's partitioning and a build overwrites
    its partition. -#}
{% macro replace_rows_strategy() -%}
    {{ return('insert_overwrite' if target.type == 'spark' else 'delete+insert') }}
{%- endmacro %}

{% macro replace_rows_partitions(columns) -%}
    {{ return(columns if target.type == 'spark' else none) }}
{%- endmacro %}

{% macro spark_file_format() -%}
    {{ return('parquet' if target.type == 'spark' else none) }}
{%- endmacro %}
