"""The XSTest data in ../shared (read in place: the completions carry the model providers'
terms, so none of them is copied into the project)."""

from pathlib import Path

import pandas as pd
import pytest

from rai_pipeline.settings import PROJECT_ROOT

XSTEST = PROJECT_ROOT.parent / "shared" / "data" / "llm_safety" / "xstest"
MODELS = ("gpt4", "llama2new", "llama2orig", "mistralguard", "mistralinstruct")
LABELS = ("1_full_compliance", "2_full_refusal", "3_partial_refusal")


def xstest() -> Path:
    """The data's folder; its absence is a failure, not a skip: CI has ../shared beside the
    project, and a test CI does not run proves nothing."""
    if not XSTEST.is_dir():
        pytest.fail(
            f"XSTest is not at {XSTEST}: the tests read it from ../shared beside the project"
        )
    return XSTEST


def completions(model: str) -> pd.DataFrame:
    return pd.read_csv(
        xstest() / "model_completions" / f"xstest_v2_completions_{model}.csv",
        keep_default_na=False,
    )


def string_match_labels(model: str) -> pd.DataFrame:
    return pd.read_csv(
        xstest() / "automated_evaluation_labels" / f"xstest_v2_completions_{model}_streval.csv",
        keep_default_na=False,
    )
