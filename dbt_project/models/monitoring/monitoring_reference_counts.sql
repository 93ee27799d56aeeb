-- The reference's bucket counts: one row per (feature, dimension, group, bucket).
with reference as (select * from {{ ref('monitoring_reference_rows') }}),
counts as ({{ bucket_counts('reference', ref('monitoring_edges'), false) }})
select * from counts
