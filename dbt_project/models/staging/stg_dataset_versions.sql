with

source as (

    select * from {{ source('landing', 'dataset_versions') }}

),

renamed as (

    select
        cast(dataset_version as {{ dbt.type_string() }}) as dataset_version,
        cast(examples_sha256 as {{ dbt.type_string() }}) as examples_sha256,
        cast(examples_rows as bigint) as examples_rows,
        cast(labels_sha256 as {{ dbt.type_string() }}) as labels_sha256,
        cast(labels_rows as bigint) as labels_rows,
        cast(subject_attributes_sha256 as {{ dbt.type_string() }}) as subject_attributes_sha256,
        cast(subject_attributes_rows as bigint) as subject_attributes_rows
    from source

)

select * from renamed
