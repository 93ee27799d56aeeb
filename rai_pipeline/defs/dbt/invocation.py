"""One ``dbt build`` of a Dagster step: its target folder under RAI_HOME, the values that change
from run to run passed in the environment, and dbt's parse kept from one run to the next.

dbt parses the whole project again (several seconds) whenever ``--vars`` or the profile differ
from the parse it saved (``partial_parse.msgpack`` in the target folder), and each invocation
has a target folder of its own. So:

- each step keeps the parse of its last successful build in
  ``RAI_HOME/dbt/partial-parse/<step>.msgpack`` (the profile names this home's warehouse, so the
  parse belongs to the home), and its next build starts from it;
- ``--vars`` carry the configuration (the threshold, the sensitive attributes, the monitored
  features), the same from one run to the next; what changes with every run (the model version
  built, the days of a monitoring run) goes in environment variables (:data:`MODEL_NAME_ENV`
  and the others below), which the models read through ``macros/run_value.sql``: when one
  changes, dbt parses again only the files that read it.

dbt checks a saved parse itself (the project's files, its own version, the vars, the profile)
and parses from scratch when it does not fit: a stale parse costs time, never correctness.

dbt runs in a process of its own (dagster-dbt's ``DbtCliResource``), except on the local Spark
warehouse, whose catalog one process at a time may open: there it runs in the step's process
(:mod:`~rai_pipeline.defs.dbt.in_process`), on the step's Spark session.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Generator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource

from rai_pipeline.defs.dbt.in_process import dbt_events_in_process
from rai_pipeline.defs.resources import DBT_TARGETS
from rai_pipeline.settings import RaiHome, environment

MODEL_NAME_ENV = "RAI_DBT_MODEL_NAME"
MODEL_VERSION_ENV = "RAI_DBT_MODEL_VERSION"
MONITORING_FROM_ENV = "RAI_DBT_MONITORING_FROM"
MONITORING_TO_ENV = "RAI_DBT_MONITORING_TO"
PARSE_STATE = "partial_parse.msgpack"
DEFAULT_TARGET = DBT_TARGETS["duckdb"]
# the profile's targets dbt runs on in the step's own process (in_process.py says why)
IN_PROCESS_TARGETS = frozenset({DBT_TARGETS["spark"]})


def invocation_target(context: dg.AssetExecutionContext, home: RaiHome) -> Path:
    """Each dbt invocation's target folder (compiled SQL, run results) lives under RAI_HOME,
    named by step and run, so the project tree stays clean and runs never share one."""
    step = context.op_execution_context.op.name
    return home.root / "dbt" / f"{step}-{context.run.run_id[:8]}"


def saved_parse(context: dg.AssetExecutionContext, home: RaiHome, target: str) -> Path:
    """Where the step keeps the parse of its last successful build on the profile's
    ``target`` (a parse holds the profile: each warehouse keeps its own)."""
    step = context.op_execution_context.op.name
    name = step if target == DEFAULT_TARGET else f"{step}-{target}"
    return home.root / "dbt" / "partial-parse" / f"{name}.msgpack"


def dbt_build(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    home: RaiHome,
    variables: Mapping[str, Any],
    *,
    run_values: Mapping[str, str] | None = None,
    profile_target: str = DEFAULT_TARGET,
) -> Generator[Any, None, Path]:
    """``dbt build`` of the step's selection on the profile's ``profile_target`` with
    ``variables`` as ``--vars`` and ``run_values`` in the environment, starting from the
    step's saved parse; yields dbt's events and returns the invocation's target folder."""
    target = invocation_target(context, home)
    saved = saved_parse(context, home, profile_target)
    if saved.is_file():
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(saved, target / PARSE_STATE)
    args = ["build", "--target", profile_target, "--vars", json.dumps(dict(variables))]
    if profile_target in IN_PROCESS_TARGETS:
        with environment(dict(run_values or {})):  # dbt reads them while it runs
            yield from dbt_events_in_process(context, dbt, args, target_path=target)
    else:
        with environment(dict(run_values or {})):  # the process starts here and reads them
            invocation = dbt.cli(args, context=context, target_path=target)
        yield from invocation.stream()
    _keep(target / PARSE_STATE, saved)
    return target


def _keep(parsed: Path, saved: Path) -> None:
    """Copy the new parse over the saved one in one rename: a build starting beside this one
    reads the old file or the new one, never half of one."""
    if not parsed.is_file():
        return
    saved.parent.mkdir(parents=True, exist_ok=True)
    aside = saved.with_name(f".{saved.name}.{os.getpid()}")
    shutil.copyfile(parsed, aside)
    os.replace(aside, saved)
