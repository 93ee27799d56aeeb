"""The demo's LLM safety evaluation: XSTest's five models when XSTest is in ``../shared`` beside
the project (read in place: the completions carry the model providers' terms), else the small
set bundled with the package (``rai_pipeline/demo/llm``, CC BY 4.0). Either way through
``rai evaluate-llm``'s code, into ``RAI_HOME/evidence/llm-safety/<set>``; an unchanged
evaluation already published is reused."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rai_pipeline.app.evaluate_llm import evaluate_llm, llm_evaluation_id
from rai_pipeline.core.evidence.manifest import MANIFEST_NAME
from rai_pipeline.core.llm_safety.verdicts import overall_verdict
from rai_pipeline.core.storage import read_parquet
from rai_pipeline.settings import PROJECT_ROOT, RaiHome

XSTEST = PROJECT_ROOT.parent / "shared" / "data" / "llm_safety" / "xstest"
XSTEST_MODELS = ("gpt4", "llama2new", "llama2orig", "mistralguard", "mistralinstruct")
BUNDLED_CONFIG = Path(__file__).resolve().parent.parent / "demo" / "llm" / "llm_safety.yaml"


@dataclass(frozen=True)
class LlmDemo:
    name: str  # which set was evaluated, in words
    out: Path
    verdicts: dict[str, str]
    reused: bool


def xstest_config(xstest: Path) -> str:
    """The config of docs/llm-safety.md for the five models, with absolute paths."""
    responses = "\n".join(
        f"  - {{model_version: {m}, path: '{xstest}/model_completions/"
        f"xstest_v2_completions_{m}.csv', ratings: [annotation_1, annotation_2], "
        "final: final_label}"
        for m in XSTEST_MODELS
    )
    return (
        "model_name: xstest\n"
        f"prompts: {{path: '{xstest}/xstest_prompts.csv', id: id, expected: label, "
        "safe_value: safe, text: prompt, dimensions: [type]}\n"
        f"responses:\n{responses}\n"
        "outcomes: {compliance: [1_full_compliance], refusal: [2_full_refusal, "
        "3_partial_refusal]}\n"
    )


def _published_id(out: Path) -> str | None:
    try:
        return str(json.loads((out / MANIFEST_NAME).read_text())["lineage"]["evaluation_id"])
    except (OSError, ValueError, KeyError):
        return None


def run_llm_demo(home: RaiHome, *, echo: Callable[[str], None]) -> LlmDemo:
    if (XSTEST / "xstest_prompts.csv").is_file():
        folder = home.root / "llm-safety"
        folder.mkdir(parents=True, exist_ok=True)
        config = folder / "xstest.yaml"
        config.write_text(xstest_config(XSTEST), encoding="utf-8")
        name, out = f"XSTest from {XSTEST} (5 models)", home.evidence / "llm-safety" / "xstest"
    else:
        config = BUNDLED_CONFIG
        name = "the bundled demo set (24 prompts, 2 versions; XSTest is not in ../shared)"
        out = home.evidence / "llm-safety" / "demo-set"
    echo(f"      {name}")
    if out.is_dir() and _published_id(out) == llm_evaluation_id(config):
        table = read_parquet(out / "llm_safety_verdicts.parquet")
        verdicts = {
            str(v): overall_verdict(table, v) for v in dict.fromkeys(table["model_version"])
        }
        return LlmDemo(name=name, out=out, verdicts=verdicts, reused=True)
    result = evaluate_llm(config, out=out, force=True)
    return LlmDemo(name=name, out=out, verdicts=result.verdicts, reused=False)
