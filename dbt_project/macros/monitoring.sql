{#- The monitored features, from var('monitoring_features'): a list of {name, kind} with kind
    numeric or categorical; the model's score is always monitored too, as a numeric feature
    named 'score'. Names are checked against the identifier rule. -#}
{% macro monitored_features() -%}
    {%- set features = [] -%}
    {%- for feature in var('monitoring_features', []) + [{'name': 'score', 'kind': 'numeric'}] -%}
        {%- if not modules.re.fullmatch('[A-Za-z_][A-Za-z0-9_]*', feature.name | string) -%}
            {{ exceptions.raise_compiler_error(
                "var('monitoring_features'): name must match ^[A-Za-z_][A-Za-z0-9_]*$, got "
                ~ (feature.name | tojson)) }}
        {%- endif -%}
        {%- if feature.kind not in ['numeric', 'categorical'] -%}
            {{ exceptions.raise_compiler_error(
                "var('monitoring_features'): kind of " ~ feature.name
                ~ " must be numeric or categorical, got " ~ (feature.kind | tojson)) }}
        {%- endif -%}
        {%- do features.append(feature) -%}
    {%- endfor -%}
    {{ return(features) }}
{%- endmacro %}

{#- A row's bucket of one feature, on the reference's edges (relation edges, one row per
    feature): a numeric value's bucket is the number of edges at or below it (0 .. k), as
    rai_pipeline.core.monitoring.drift.bucket_counts counts them; a category's is its
    position among the reference's categories (1 .. k), 0 when the reference never saw it;
    a missing value has no bucket. -#}
{% macro feature_bucket(feature, relation) -%}
    {%- set column = relation ~ '.' ~ adapter.quote(feature.name) -%}
    {%- if feature.kind == 'numeric' -%}
        case when {{ column }} is null then null else
            len(list_filter(edges.edges, lambda e: e <= cast({{ column }} as double))) end
    {%- else -%}
        case when {{ column }} is null then null else
            coalesce(list_position(edges.categories, cast({{ column }} as varchar)), 0) end
    {%- endif -%}
{%- endmacro %}

{#- Bucket counts of the rows of `rows` (a CTE with the features, the raw attribute sources
    and, when `by_day`, a column day): one row per ([day,] feature, dimension, group,
    bucket), overall (dimension 'overall', group 'all') and per configured sensitive
    attribute, its groups labelled as the evaluation labels them (macro attribute_value). -#}
{% macro bucket_counts(rows, edges_relation, by_day) -%}
    {%- set day = 'day, ' if by_day else '' -%}
    with
    grouped as (
        select
            {%- for attribute in sensitive_attributes() %}
            {{ attribute_value(attribute, rows) }} as {{ adapter.quote('g_' ~ attribute.name) }},
            {%- endfor %}
            *
        from {{ rows }}
    ),
    long as (
        {%- for feature in monitored_features() %}
        select
            {{ day }}
            {%- for attribute in sensitive_attributes() %}
            grouped.{{ adapter.quote('g_' ~ attribute.name) }},
            {%- endfor %}
            {{ sql_string(feature.name) }} as feature,
            {{ feature_bucket(feature, 'grouped') }} as bucket
        from grouped
        inner join {{ edges_relation }} as edges on edges.feature = {{ sql_string(feature.name) }}
        {%- if not loop.last %}
        union all
        {%- endif %}
        {%- endfor %}
    )
    select {{ day }} feature, 'overall' as dimension, 'all' as "group", bucket, count(*) as "rows"
    from long where bucket is not null
    group by all
    {%- for attribute in sensitive_attributes() %}
    union all
    select {{ day }} feature, {{ sql_string(attribute.name) }} as dimension,
        {{ adapter.quote('g_' ~ attribute.name) }} as "group", bucket, count(*) as "rows"
    from long where bucket is not null
    group by all
    {%- endfor %}
{%- endmacro %}
