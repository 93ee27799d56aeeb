"""The dbt resource skips two things dagster-dbt does before a step's first build (its module
docstring says why): it must still know the right dbt version, and dagster-dbt must still call
the hooks it overrides, or the saving is silently lost on an upgrade."""

from __future__ import annotations

import inspect
import re
import subprocess

from dagster_dbt import DbtCliResource

from rai_pipeline.defs.dbt.project import dbt_project
from rai_pipeline.defs.dbt.resource import RaiDbtCliResource
from rai_pipeline.settings import DBT_EXECUTABLE


def test_the_version_is_the_one_the_dbt_executable_reports():
    resource = RaiDbtCliResource(project_dir=dbt_project, dbt_executable=str(DBT_EXECUTABLE))
    printed = subprocess.run(
        [str(DBT_EXECUTABLE), "--version"], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"(\d+\.\d+\.\d+)", printed)
    assert match is not None, printed
    assert str(resource._cli_version) == match.group(1)
    assert resource._initialize_dbt_core_adapter(["build"]) is None


def test_dagster_dbt_still_has_the_hooks_it_overrides():
    base = DbtCliResource.__dict__
    assert "_cli_version" in base and "_initialize_dbt_core_adapter" in base
    source = inspect.getsource(DbtCliResource.cli)
    assert "self._initialize_dbt_core_adapter(" in source
    assert "self._cli_version" in source
