with

examples as (

    select example_id from {{ ref('stg_examples') }}

),

labels as (

    select * from {{ ref('stg_labels') }}

),

subject_attributes as (

    select * from {{ ref('stg_subject_attributes') }}

),

labeled_examples as (

    -- every example needs a label; attributes may be missing and become 'unknown'
    select
        examples.example_id,
        labels.label,
        subject_attributes.sex,
        subject_attributes.race,
        subject_attributes.age
    from examples
    inner join labels on labels.example_id = examples.example_id
    left join subject_attributes on subject_attributes.example_id = examples.example_id

),

banded as (

    select
        example_id,
        label,
        coalesce(sex, 'unknown') as sex,
        coalesce(race, 'unknown') as race,
        case
            when age is null then 'unknown'
            when age < 17 then '0-16'
            when age < 25 then '17-24'
            when age < 45 then '25-44'
            when age < 65 then '45-64'
            else '65+'
        end as age_band
    from labeled_examples

)

select * from banded
