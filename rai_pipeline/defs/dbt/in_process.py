"""``dbt build`` inside the step's own process, for the warehouse that one process at a time
may open: the local Spark session, whose catalog is an embedded Derby database
(``adapters/spark_session.py``). dagster-dbt's :class:`~dagster_dbt.DbtCliResource` starts
dbt in a process of its own, which could not open the catalog the step's session holds; here
dbt runs through ``dbtRunner``, and dbt-spark's ``session`` method takes this process's
session.

What the step yields is what ``DbtCliResource.cli(...).stream()`` yields for the same build:
the same selection of the step's assets (dagster-dbt's
``get_updated_cli_invocation_params_for_context``), dbt's events as the JSON lines dbt would
print (dbt's own ``msg_to_dict``), turned into Dagster events by dagster-dbt
(``DbtCoreCliEventMessage.to_default_asset_events``): a materialization per model, a check
result per test. A failed build raises dagster-dbt's error with dbt's error messages, after the
events of what did run. The selection helper is not dagster-dbt's public API (pinned in
``constraints.txt``); ``tests/defs/test_dbt_in_process.py`` runs both paths on DuckDB and fails
when an upgrade makes them differ.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource

MSG_FAILED = "dbt {command} failed in this process (log: {log}){errors}"


def dbt_events_in_process(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    args: Sequence[str],
    *,
    target_path: Path,
) -> Iterator[Any]:
    """Run ``dbt <args>`` for the step of ``context`` in this process, with its target and
    log folder ``target_path``; yield the Dagster events of its models and tests."""
    from dagster_dbt.asset_utils import get_updated_cli_invocation_params_for_context
    from dagster_dbt.core.dbt_cli_event import DbtCoreCliEventMessage
    from dagster_dbt.dagster_dbt_translator import DagsterDbtTranslator
    from dagster_dbt.errors import DagsterDbtCliRuntimeError
    from dbt.cli.main import dbtRunner
    from dbt_common.events.functions import msg_to_dict

    params = get_updated_cli_invocation_params_for_context(
        context=context, manifest={}, dagster_dbt_translator=DagsterDbtTranslator()
    )
    project_dir = str(params.dbt_project.project_dir if params.dbt_project else dbt.project_dir)
    invocation = [
        "--no-use-colors",  # dbt's text log goes to the run's log, not to a terminal
        *dbt.global_config_flags,
        *args,
        *params.selection_args,
        *(["--indirect-selection", params.indirect_selection] if params.indirect_selection else []),
        "--project-dir",
        project_dir,
        "--profiles-dir",
        str(dbt.profiles_dir or project_dir),
        "--target-path",
        str(target_path),
        "--log-path",
        str(target_path),
    ]
    raw_events: list[dict[str, Any]] = []
    result = dbtRunner(callbacks=[lambda message: raw_events.append(msg_to_dict(message))]).invoke(
        invocation
    )
    errors = []
    for raw_event in raw_events:
        if raw_event.get("info", {}).get("level") == "error":
            errors.append(raw_event["info"].get("msg", ""))
        event = DbtCoreCliEventMessage(raw_event=raw_event, event_history_metadata={})
        yield from event.to_default_asset_events(
            manifest=params.manifest,
            dagster_dbt_translator=params.dagster_dbt_translator,
            context=context,
            target_path=target_path,
            project=params.dbt_project,
        )
    if not result.success:
        if result.exception is not None:
            errors.append(str(result.exception))
        raise DagsterDbtCliRuntimeError(
            description=MSG_FAILED.format(
                command=args[0] if args else "",
                log=target_path / "dbt.log",
                errors="".join(f"\n\n{error}" for error in errors if error),
            )
        )
