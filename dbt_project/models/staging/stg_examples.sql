-- Feature columns differ per dataset and pass through as landed; the landing step already
-- guarantees a unique, non-NULL BIGINT example_id.
with

source as (

    select * from {{ source('landing', 'examples') }}

)

select * from source
