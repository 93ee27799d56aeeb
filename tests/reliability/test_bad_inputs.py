"""The catalogue of bad inputs: each gets a one-line-per-problem error naming the file, the line
or column and the rule, exit code 2, and nothing written; through `rai evaluate-file` and,
where the input applies to it, through `rai land` (the pipeline's entry).

Each case is a function that writes the bad input into a fresh folder and returns the command
line and the text the error must contain."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from rai_pipeline.cli import app

COLUMNS = "columns: {id: id, label: label, score: score}\n"
CONFIG = COLUMNS + "sensitive_features: [g]\n"
DATASET = "dataset: {path: data.csv, id: id, label: label}\n"  # the same roles, for rai land
GOOD_ROWS = "id,label,score,g\n1,1,0.5,a\n2,0,0.3,b\n3,1,0.9,a\n"


def files(folder, csv=GOOD_ROWS, config=CONFIG):
    (folder / "data.csv").write_bytes(csv.encode() if isinstance(csv, str) else csv)
    (folder / "c.yaml").write_bytes(config.encode() if isinstance(config, str) else config)


def evaluate_file(folder, *extra):
    return ["evaluate-file", str(folder / "data.csv"), "--config", str(folder / "c.yaml"), *extra]


def case_empty_csv(folder):
    files(folder, csv="")
    return [], "data.csv: the file is empty (0 bytes)"


def case_ragged_short_row(folder):
    files(folder, csv="id,label,score,g\n1,1,0.5,a\n2,0,0.3\n3,1,0.9,b\n")
    return [], "data.csv: line 3 has 3 fields, the header (line 1) has 4"


def case_ragged_long_row(folder):
    files(folder, csv="id,label,score,g\n1,1,0.5,a\n2,0,0.3,b\n3,1,0.9,b,extra\n")
    return [], "data.csv: line 4 has 5 fields, the header (line 1) has 4"


def case_duplicate_yaml_key(folder):
    files(folder, config=CONFIG + "sensitive_features: [h]\n")
    return [], "c.yaml: key 'sensitive_features' is given twice (lines 2 and 3); keep one"


def case_config_not_utf8(folder):
    files(folder, config=b"columns: {id: id, label: label, score: score}\ng: \xff\n")
    return [], "c.yaml: cannot read the config file (not UTF-8 text: byte 0xff on line 2"


def case_model_version_with_a_newline(folder):
    files(folder)
    return (
        ["--model-version", "3\n# Injected heading"],
        "--model-version '3\\n# Injected heading': must be one line of visible text",
    )


def case_empty_out_with_force(folder):
    files(folder)
    return ["--out", "", "--force"], "--out: the output folder's path is empty"


def case_memory_limit_too_low(folder):
    rng = np.random.default_rng(0)
    n = 400_000
    frame = pd.DataFrame(
        {
            "id": np.arange(n),
            "label": rng.integers(0, 2, n),
            "score": rng.random(n),
            "g": rng.choice(list("abcdefgh"), n),
        }
    )
    files(folder, csv=frame.to_csv(index=False))
    return ["--memory-limit", "5MB"], "DuckDB ran out of memory while reading it"


def case_ten_thousand_groups(folder):
    rows = "".join(f"{i},{i % 2},0.5,v{i}\n" for i in range(10_000))
    files(folder, csv="id,label,score,g\n" + rows)
    return [], "data.csv: 'g' has 10,000 groups: more than 250 groups"


def case_groups_past_a_configured_limit(folder):
    files(folder, config=CONFIG + "limits: {max_groups_per_dimension: 2}\n", csv=GOOD_ROWS
          + "4,0,0.1,c\n")  # fmt: skip
    return [], "data.csv: 'g' has 3 groups: more than 2 groups"


def case_an_intersection_past_the_limit(folder):
    rows = "".join(f"{i},{i % 2},0.5,a{i % 16},b{i // 16 % 16}\n" for i in range(300))
    config = CONFIG.replace("[g]", "[g, h]")
    files(folder, csv="id,label,score,g,h\n" + rows, config=config)
    return [], "data.csv: 'g&h' has 256 groups: more than 250 groups"


def case_seventy_sensitive_features(folder):
    names = [f"s{i}" for i in range(70)]
    header = "id,label,score," + ",".join(names)
    files(folder, csv=header + "\n1,1,0.5," + ",".join("a" * 70) + "\n",
          config=CONFIG.replace("[g]", f"[{', '.join(names)}]"))  # fmt: skip
    return [], "sensitive_features lists 70 features, more than limits.max_sensitive_features (16)"


def case_a_feature_limit_past_the_engine_ceiling(folder):
    files(folder, config=CONFIG + "limits: {max_sensitive_features: 65}\n")
    return [], "limits.max_sensitive_features: Input should be less than or equal to 64"


CASES = [
    case_empty_csv,
    case_ragged_short_row,
    case_ragged_long_row,
    case_duplicate_yaml_key,
    case_config_not_utf8,
    case_model_version_with_a_newline,
    case_empty_out_with_force,
    case_memory_limit_too_low,
    case_ten_thousand_groups,
    case_groups_past_a_configured_limit,
    case_an_intersection_past_the_limit,
    case_seventy_sensitive_features,
    case_a_feature_limit_past_the_engine_ceiling,
]
# the cases that concern the data set or the config also go through rai land
LAND_CASES = {
    case_empty_csv,
    case_ragged_short_row,
    case_ragged_long_row,
    case_duplicate_yaml_key,
    case_ten_thousand_groups,
    case_groups_past_a_configured_limit,
    case_an_intersection_past_the_limit,
    case_seventy_sensitive_features,
    case_a_feature_limit_past_the_engine_ceiling,
}


def snapshot(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


@pytest.mark.parametrize("case", CASES, ids=[c.__name__.removeprefix("case_") for c in CASES])
def test_evaluate_file_refuses_with_a_clear_error_and_writes_nothing(case, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    extra, expected = case(folder)
    if "--out" not in extra:
        extra = [*extra, "--out", str(tmp_path / "out")]
    before = snapshot(tmp_path)
    result = CliRunner().invoke(app, evaluate_file(folder, *extra))
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert snapshot(tmp_path) == before  # no output, no staging folder, nothing else


@pytest.mark.parametrize(
    "case", sorted(LAND_CASES, key=lambda c: c.__name__), ids=lambda c: c.__name__[5:]
)
def test_rai_land_refuses_with_the_same_error_and_lands_nothing(case, tmp_path, monkeypatch):
    folder = tmp_path / "in"
    folder.mkdir()
    _, expected = case(folder)
    config = (folder / "c.yaml").read_text(encoding="utf-8")
    (folder / "c.yaml").write_text(config.replace(COLUMNS, DATASET), encoding="utf-8")
    monkeypatch.setenv("RAI_HOME", str(tmp_path / "home"))
    result = CliRunner().invoke(app, ["land", "--config", str(folder / "c.yaml")])
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not (tmp_path / "home" / "landing").exists()
