with

source as (

    select * from {{ source('landing', 'subject_attributes') }}

),

renamed as (

    select
        cast(example_id as bigint) as example_id,
        -- blank strings carry no information: treat them as missing
        nullif(trim(cast(sex as {{ dbt.type_string() }})), '') as sex,
        nullif(trim(cast(race as {{ dbt.type_string() }})), '') as race,
        cast(age as integer) as age
    from source

)

select * from renamed
