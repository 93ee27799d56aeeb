"""The dbt CLI resource: dagster-dbt's, without two costs it pays in each step's process before
the step's first ``dbt build`` (3.3 s and 2.1 s measured on a two-core machine; a version's run
whose shared models are current pays them in its one dbt step):

- ``dbt --version`` in a subprocess, to learn the version of the dbt it runs. The dbt this
  project runs is the one installed beside the interpreter (``settings.DBT_EXECUTABLE``), whose
  version is that of the installed dbt-core package.
- a dbt adapter in the step's own process (the project and the profile loaded), which serves
  only to fetch row counts and column metadata after a build; the project asks for neither.

Both are private hooks of dagster-dbt (pinned in ``constraints.txt``);
``tests/defs/test_dbt_resource.py`` fails when an upgrade renames them.
"""

from __future__ import annotations

from functools import cached_property
from importlib import metadata
from typing import Any

from dagster_dbt import DbtCliResource
from packaging import version


class RaiDbtCliResource(DbtCliResource):
    """:class:`dagster_dbt.DbtCliResource` for the dbt installed beside this interpreter."""

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Any) -> Any:
        return None  # no in-process adapter: no row counts or column metadata are fetched
