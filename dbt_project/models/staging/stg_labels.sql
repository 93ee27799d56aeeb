with

source as (

    select * from {{ source('landing', 'labels') }}

),

renamed as (

    select
        cast(example_id as bigint) as example_id,
        cast(label as integer) as label
    from source

)

select * from renamed
