"""LLM safety asset checks.

- ``llm_inputs_pass_data_checks`` (on ``llm_safety_inputs``, blocking): the warehouse's data
  checks of the version (dbt model ``llm_data_checks``); fails, with severity ERROR, when a
  check the config lists under ``checks.blocking`` counts a row. Every count is in its
  metadata either way.
- One check per policy bound on ``llm_safety_pack`` (``max_unsafe_compliance_rate``,
  ``max_over_refusal_rate``, ``min_judge_agreement``), from the published verdicts: a
  ``fail`` fails with severity ERROR, ``inconclusive`` or ``insufficient_sample`` fails with
  severity WARN, a bound with no measurement (no judge checked against human labels) passes
  and says it was not assessed.
"""

import dagster as dg

from rai_pipeline.core.governance.registry import parse_partition_key
from rai_pipeline.core.metrics.verdicts import VERDICT_FAIL, VERDICT_PASS
from rai_pipeline.core.storage import read_parquet
from rai_pipeline.defs.llm_safety import inputs
from rai_pipeline.defs.llm_safety.assets import llm_safety_inputs, llm_safety_pack
from rai_pipeline.defs.partitions import llm_feature_versions
from rai_pipeline.defs.resources import (
    WAREHOUSE_POOL,
    LlmConfigResource,
    MlflowResource,
    RaiHomeResource,
    WarehouseResource,
)

POLICY_CHECKS = {
    "max_unsafe_compliance_rate": "unsafe_compliance_rate",
    "max_over_refusal_rate": "over_refusal_rate",
    "min_judge_agreement": "judge_human_agreement",
}


@dg.asset_check(
    asset=llm_safety_inputs,
    name="llm_inputs_pass_data_checks",
    description=(
        "Do the version's responses and ratings pass the data checks the config makes "
        "blocking (a response without a prompt, a prompt without a response, a rating outside "
        "the configured outcomes)?"
    ),
    blocking=True,
    pool=WAREHOUSE_POOL,
    partitions_def=llm_feature_versions,
)
def llm_inputs_pass_data_checks(
    context: dg.AssetCheckExecutionContext,
    warehouse: WarehouseResource,
    mlflow: MlflowResource,
    llm_config: LlmConfigResource,
) -> dg.AssetCheckResult:
    ref = parse_partition_key(context.partition_key)
    blocking = set(llm_config.load().checks.blocking)
    with warehouse.connect() as conn:
        version = inputs.feature_version(mlflow.store(), ref, inputs.landed_labels(conn))
        rows = inputs.data_check_rows(conn, version.label)
    rows["blocking"] = rows["check"].isin(blocking)
    failing = rows[rows["blocking"] & (rows["count"] > 0)]
    message = "; ".join(
        f"{r.check}: {r.count} (e.g. {r.examples}; blocking under checks.blocking)"
        for r in failing.itertuples()
    )
    return dg.AssetCheckResult(
        passed=failing.empty,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "model_version": version.label,
            **{str(r.check): int(r.count) for r in rows.itertuples()},
            "checks": dg.MetadataValue.md(rows.to_markdown(index=False)),
            **({"failed_rules": dg.MetadataValue.md(message)} if message else {}),
        },
        description=message or "no blocking data check counts a row",
    )


def build_policy_check(name: str, metric: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=llm_safety_pack,
        name=name,
        description=f"Is the version's {metric} within the policy's {name}?",
        blocking=True,
        partitions_def=llm_feature_versions,
    )
    def _check(
        context: dg.AssetCheckExecutionContext,
        rai_home: RaiHomeResource,
        llm_config: LlmConfigResource,
    ) -> dg.AssetCheckResult:
        ref = parse_partition_key(context.partition_key)
        pack = rai_home.get().pack_dir(ref.name, ref.version)
        verdicts = read_parquet(pack / "llm_safety_verdicts.parquet")
        row = verdicts[verdicts["metric"] == metric]
        bound = getattr(llm_config.load().policy, name)
        if row.empty:
            return dg.AssetCheckResult(
                passed=True,
                metadata={"bound": bound, "verdict": "not_assessed"},
                description=f"{metric}: not assessed (no judge was checked against human labels)",
            )
        first = row.iloc[0]
        verdict = str(first["verdict"])
        text = (
            f"{metric} = {first['value']:.3f} [{first['ci_lower']:.3f}, {first['ci_upper']:.3f}]"
            f" against {name} {bound}: {verdict}"
        )
        return dg.AssetCheckResult(
            passed=verdict == VERDICT_PASS,
            severity=(
                dg.AssetCheckSeverity.ERROR
                if verdict == VERDICT_FAIL
                else dg.AssetCheckSeverity.WARN
            ),
            metadata={
                "bound": bound,
                "verdict": verdict,
                "value": float(first["value"]),
                "ci_lower": float(first["ci_lower"]),
                "ci_upper": float(first["ci_upper"]),
                **({"failed_rules": dg.MetadataValue.md(text)} if verdict != VERDICT_PASS else {}),
            },
            description=text,
        )

    return _check


llm_checks = [llm_inputs_pass_data_checks] + [
    build_policy_check(name, metric) for name, metric in POLICY_CHECKS.items()
]
