"""Every example in the docstrings of the pure library runs and prints what it claims."""

import doctest
import importlib
import pkgutil

import pytest

import rai_pipeline.core

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(rai_pipeline.core.__path__, prefix="rai_pipeline.core.")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0


def test_the_examples_cover_the_engine_metrics_and_statistics():
    examples = {name: doctest.testmod(importlib.import_module(name)).attempted for name in MODULES}
    for name in (
        "rai_pipeline.core.engine.sql",
        "rai_pipeline.core.engine.statistics",
        "rai_pipeline.core.metrics.fairness",
        "rai_pipeline.core.metrics.slice_metrics",
        "rai_pipeline.core.stats.intervals",
        "rai_pipeline.core.stats.multiple_testing",
    ):
        assert examples[name] > 0, name
