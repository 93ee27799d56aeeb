-- One row per monitored feature: its buckets, fixed from the reference. A numeric feature's
-- inner edges are the reference's quantiles at 1/k .. (k-1)/k (k = var monitoring_buckets),
-- linear interpolation, repeated values merged and edges at the minimum dropped, as
-- rai_pipeline.core.monitoring.drift.reference_edges computes them; a categorical feature's
-- buckets are the reference's categories in sorted order.
{% set k = var('monitoring_buckets') | int %}
{%- for feature in monitored_features() %}
select
    {{ sql_string(feature.name) }} as feature,
    {{ sql_string(feature.kind) }} as kind,
    {%- if feature.kind == 'numeric' %}
    list_sort(list_filter(
        list_distinct(quantile_cont(cast({{ adapter.quote(feature.name) }} as double),
            [{% for i in range(1, k) %}{{ i / k }}{{ ", " if not loop.last }}{% endfor %}])),
        lambda e: e > min(cast({{ adapter.quote(feature.name) }} as double))
    )) as edges,
    cast([] as varchar[]) as categories
    {%- else %}
    cast([] as double[]) as edges,
    list_sort(list_distinct(list(cast({{ adapter.quote(feature.name) }} as varchar)))) as categories
    {%- endif %}
from {{ ref('monitoring_reference_rows') }}
{%- if not loop.last %}
union all
{%- endif %}
{%- endfor %}
