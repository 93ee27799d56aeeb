with

examples as (

    select example_id from {{ ref('stg_examples') }}

),

labels as (

    select * from {{ ref('stg_labels') }}

),

labeled_examples as (

    -- every example needs a label to be evaluated; its groups are in int_subject_attributes
    select
        examples.example_id,
        labels.label
    from examples
    inner join labels on labels.example_id = examples.example_id

)

select * from labeled_examples
