"""Ratings imported from a Label Studio JSON export give the same agreement statistics as the
same verdicts given as columns; cancelled annotations are skipped, raters named by id or email,
and exports that are not ratings are refused naming the file and the rule."""

import json

import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

from rai_pipeline.core.llm_safety.label_studio import LabelStudioError, label_studio_ratings
from rai_pipeline.core.storage import read_parquet
from tests.llm_safety.test_evaluate_llm import run, workspace
from tests.llm_safety.xstest import completions


def export_of(data: pd.DataFrame) -> list:
    """XSTest's two annotations as two Label Studio annotators, plus a cancelled annotation."""
    tasks = []
    for row in data.itertuples():
        result = lambda label: [{"type": "choices", "from_name": "verdict", "to_name": "text",  # noqa: E731
                                 "value": {"choices": [label]}}]  # fmt: skip
        tasks.append(
            {
                "id": 1000 + len(tasks),
                "data": {"id": row.id, "completion": "…"},
                "annotations": [
                    {
                        "completed_by": {"id": 7, "email": "ann@example.org"},
                        "result": result(row.annotation_1),
                    },
                    {"completed_by": 12, "result": result(row.annotation_2)},
                    {"completed_by": 13, "was_cancelled": True, "result": result("2_full_refusal")},
                ],
            }
        )
    return tasks


def test_agreement_from_the_export_equals_agreement_from_the_columns(tmp_path):
    data = completions("gpt4")
    folder = workspace(tmp_path)
    (folder / "export.json").write_text(json.dumps(export_of(data)))
    text = (
        "prompts: {path: xstest_prompts.csv, id: id, expected: label, dimensions: [type]}\n"
        "responses:\n  - {model_version: gpt4, path: model_completions/"
        "xstest_v2_completions_gpt4.csv, final: final_label,\n"
        "     label_studio: {path: export.json}}\n"
        "outcomes: {compliance: [1_full_compliance],\n"
        "           refusal: [2_full_refusal, 3_partial_refusal]}\n"
    )
    result, out = run(folder, text)
    assert result.exit_code == 0, result.output
    metrics = read_parquet(out / "llm_safety_metrics.parquet")
    overall = metrics[(metrics["family"] == "labelling") & (metrics["dimension"] == "overall")]
    kappa = overall.set_index("metric").loc["cohen_kappa", "value"]
    assert kappa == pytest.approx(
        cohen_kappa_score(data["annotation_1"], data["annotation_2"]), abs=1e-12
    )
    raters = pd.read_csv(out / "llm_rater_agreement.csv")
    assert list(raters["rater"]) == ["label_studio:12", "label_studio:ann@example.org"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert [i["name"] for i in manifest["inputs"] if i["kind"] == "label_studio_export"] == [
        "export.json"
    ]


def test_a_rater_who_skipped_a_task_leaves_it_empty():
    tasks = [
        {"id": 1, "data": {"id": "a"}, "annotations": [
            {"completed_by": 1, "result": [{"type": "choices", "value": {"choices": ["x"]}}]}]},
        {"id": 2, "data": {"id": "b"}, "annotations": [
            {"completed_by": 2, "result": [{"type": "choices", "value": {"choices": ["y"]}}]}]},
    ]  # fmt: skip
    ratings = label_studio_ratings(tasks, id_field="id", from_name=None, file="e.json")
    assert ratings.to_dict("records") == [
        {"response_id": "a", "label_studio:1": "x", "label_studio:2": ""},
        {"response_id": "b", "label_studio:1": "", "label_studio:2": "y"},
    ]


@pytest.mark.parametrize(
    ("tasks", "message"),
    [
        ({"tasks": []}, "e.json: not a Label Studio JSON export"),
        ([{"id": 5, "data": {"text": "t"}, "annotations": []}], "task 5 has no data field 'id'"),
        ([{"id": 6, "data": {"id": "a"}, "annotations": [{"result": [
            {"type": "choices", "from_name": "p", "value": {"choices": ["x"]}},
            {"type": "choices", "from_name": "q", "value": {"choices": ["y"]}}]}]}],
         "choices from several controls ['p', 'q']"),
    ],
)  # fmt: skip
def test_exports_that_are_not_ratings_are_refused(tasks, message):
    with pytest.raises(LabelStudioError, match=message.replace("[", r"\[").replace("]", r"\]")):
        label_studio_ratings(tasks, id_field="id", from_name=None, file="e.json")
