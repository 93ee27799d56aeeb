"""The landed LLM safety set (``rai land-llm``) at the root of the LLM safety lineage.

Materializing ``llm_landing`` checks each landed file against the sha256 the set's summary
records and reports it as the asset's data version, as the evaluation data's landing assets
do (:mod:`rai_pipeline.defs.sources`).
"""

from collections.abc import Iterator

import dagster as dg

from rai_pipeline.core.landing.llm import SUMMARY, TABLES, read_landed_llm_set
from rai_pipeline.defs.lineage import asset_code_version
from rai_pipeline.defs.resources import LlmConfigResource, RaiHomeResource

GROUP = "llm_landing"
DESCRIPTIONS = {
    "llm_prompts": "The prompt set: prompt id, set, expected behaviour, text, dimensions.",
    "llm_responses": "Responses per model version: response id, prompt id, completion.",
    "llm_ratings": "Verdicts per (model version, response, rater): human raters and record.",
    "llm_versions": "Per model version: id prefix, responses file sha256, the LLM feature.",
    SUMMARY: "One row: the set version and each landed file's sha256 and row count.",
}
CODE_VERSION = asset_code_version("rai_pipeline.core.landing.llm", __name__)

llm_landing_specs = [
    dg.AssetSpec(
        key=[GROUP, name],
        description=DESCRIPTIONS[name],
        group_name=GROUP,
        kinds={"parquet"},
        code_version=CODE_VERSION,
        metadata={"location": f"$RAI_HOME/landing/llm/<model name>/current/{name}.parquet"},
    )
    for name in (*TABLES, SUMMARY)
]


@dg.multi_asset(specs=llm_landing_specs, name="llm_landing")
def llm_landing(
    rai_home: RaiHomeResource, llm_config: LlmConfigResource
) -> Iterator[dg.MaterializeResult]:
    """Check the landed set and record each file's sha256 as its data version."""
    folder = rai_home.get().llm_landing(llm_config.load().model_name)
    landed = read_landed_llm_set(folder)
    for name in (*TABLES, SUMMARY):
        yield dg.MaterializeResult(
            asset_key=[GROUP, name],
            metadata={
                "path": dg.MetadataValue.path(str(landed.directory / f"{name}.parquet")),
                "sha256": landed.sha256[name],
                "set_version": landed.set_version,
                "dagster/row_count": landed.rows[name],
            },
            data_version=dg.DataVersion(landed.sha256[name]),
        )
