"""Ratings from a Label Studio JSON export (the "JSON" export: a list of tasks).

Each task's ``data`` holds the response's id (``id_field``); each of its ``annotations`` not
cancelled (``was_cancelled``) is one rater's verdict: the first choice of its ``choices``
result (from the control named ``from_name``, or the only choices control). The rater is the
annotation's ``completed_by`` (an id, or an object with ``email`` or ``id``). The result is one
row per task and one column per rater, ``label_studio:<rater>``, empty where a rater did not
rate the task; these columns are the ``ratings`` of the labelling-quality statistics.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

PREFIX = "label_studio:"
MSG_SHAPE = "{file}: not a Label Studio JSON export (a list of tasks with data and annotations)"
MSG_NO_ID = "{file}: task {task} has no data field {field!r} (the config's label_studio.id_field)"
MSG_CONTROLS = (
    "{file}: task {task} has choices from several controls {names}: name one with "
    "label_studio.from_name"
)
MSG_DUPLICATE = "{file}: data field {field!r}: ids must be unique; repeated: {examples}"


class LabelStudioError(ValueError):
    """The export cannot be read as ratings; the message names the file and the rule."""


def _rater(annotation: Mapping[str, Any]) -> str:
    who = annotation.get("completed_by")
    if isinstance(who, Mapping):
        who = who.get("email") or who.get("id")
    return str(who if who is not None else "unknown")


def _choice(annotation: Mapping[str, Any], from_name: str | None, file: str, task: object):
    choices = [
        r
        for r in annotation.get("result", [])
        if isinstance(r, Mapping) and r.get("type") == "choices"
    ]
    if from_name is not None:
        choices = [r for r in choices if r.get("from_name") == from_name]
    names = sorted({str(r.get("from_name")) for r in choices})
    if len(names) > 1:
        raise LabelStudioError(MSG_CONTROLS.format(file=file, task=task, names=names))
    for result in choices:
        picked = result.get("value", {}).get("choices", [])
        if picked:
            return str(picked[0])
    return None


def label_studio_ratings(
    tasks: Sequence[Any], *, id_field: str, from_name: str | None, file: str
) -> pd.DataFrame:
    """Column ``response_id`` and one ``label_studio:<rater>`` column per rater."""
    if not isinstance(tasks, list) or not all(
        isinstance(t, Mapping) and isinstance(t.get("data"), Mapping) for t in tasks
    ):
        raise LabelStudioError(MSG_SHAPE.format(file=file))
    rows: dict[str, dict[str, str]] = {}
    for task in tasks:
        task_id = task.get("id")
        if id_field not in task["data"]:
            raise LabelStudioError(MSG_NO_ID.format(file=file, task=task_id, field=id_field))
        response = str(task["data"][id_field])
        if response in rows:
            raise LabelStudioError(MSG_DUPLICATE.format(file=file, field=id_field,
                                                        examples=[response]))  # fmt: skip
        ratings: dict[str, str] = {}
        for annotation in task.get("annotations", []) or []:
            if not isinstance(annotation, Mapping) or annotation.get("was_cancelled"):
                continue
            verdict = _choice(annotation, from_name, file, task_id)
            if verdict is not None:
                ratings[PREFIX + _rater(annotation)] = verdict
        rows[response] = ratings
    raters = sorted({name for ratings in rows.values() for name in ratings})
    return pd.DataFrame(
        [{"response_id": rid, **{r: ratings.get(r, "") for r in raters}} for rid, ratings in
         rows.items()],
        columns=["response_id", *raters],
    )  # fmt: skip
