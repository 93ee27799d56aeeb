select
    cast(model_version as varchar) as model_version,
    cast(id_prefix as varchar) as id_prefix,
    cast(responses_sha256 as varchar) as responses_sha256,
    cast(responses_file as varchar) as responses_file,
    cast(model_id as varchar) as model_id,
    cast(system_prompt as varchar) as system_prompt,
    cast(template as varchar) as template,
    cast(feature_digest as varchar) as feature_digest
from {{ source('llm_landing', 'llm_versions') }}
