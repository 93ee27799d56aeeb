"""LLM judges behind :class:`~rai_pipeline.core.llm_safety.judges.Judge`: an HTTP endpoint, or
any Python callable, asked once per response.

HTTP: ``POST <url>`` with the JSON body ``{"prompt_id", "prompt", "response", "input"}``
(``input`` is the judge template filled with the labels, the prompt and the response); the
answer must be a JSON object with a string ``verdict``. A failed request, a status other than
200 or an answer without a verdict stops the evaluation with a message naming the endpoint and
the prompt; nothing is published.

Callable: ``target`` ``package.module:function``, called as ``function(prompt=..., response=...,
input=...)`` and returning the verdict label.
"""

from __future__ import annotations

import importlib
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence

from rai_pipeline.core.llm_safety.config import JudgeConfig, OutcomesConfig
from rai_pipeline.core.llm_safety.frame import LlmInputError
from rai_pipeline.core.llm_safety.judges import Judge

MSG_HTTP = "judge {url}: prompt {prompt_id}: {reason}"
MSG_TARGET = "judge.target {target!r}: {reason} (give package.module:function)"


def _filled(template: str, outcomes: OutcomesConfig, prompt: str, response: str) -> str:
    labels = ", ".join([*outcomes.compliance, *outcomes.refusal, *outcomes.partial])
    return template.format_map({"labels": labels, "prompt": prompt, "response": response})


def http_judge(config: JudgeConfig, outcomes: OutcomesConfig) -> Judge:
    url, timeout = str(config.url), config.timeout_seconds

    def ask(prompt_id: str, prompt: str, response: str) -> str:
        filled = _filled(config.template, outcomes, prompt, response)
        fields = {"prompt_id": prompt_id, "prompt": prompt, "response": response, "input": filled}
        body = json.dumps(fields)
        request = urllib.request.Request(
            url, data=body.encode(), headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                payload = json.loads(answer.read().decode("utf-8"))
        except urllib.error.HTTPError as error:
            error.close()
            raise failure(prompt_id, f"HTTP {error.code}") from None
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise failure(prompt_id, getattr(error, "reason", error)) from None
        verdict = payload.get("verdict") if isinstance(payload, dict) else None
        if not isinstance(verdict, str):
            raise failure(prompt_id, "the answer has no string 'verdict'")
        return verdict

    def failure(prompt_id: str, reason: object) -> LlmInputError:
        return LlmInputError(MSG_HTTP.format(url=url, prompt_id=prompt_id, reason=reason))

    def judge(
        prompt_ids: Sequence[str], prompts: Sequence[str], responses: Sequence[str]
    ) -> list[str]:
        return [ask(i, p, r) for i, p, r in zip(prompt_ids, prompts, responses, strict=True)]

    return judge


def callable_judge(config: JudgeConfig, outcomes: OutcomesConfig) -> Judge:
    target = str(config.target)
    module_name, _, attribute = target.partition(":")
    try:
        function: Callable[..., str] = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError, ValueError) as error:
        raise LlmInputError(MSG_TARGET.format(target=target, reason=error)) from None

    def judge(
        prompt_ids: Sequence[str], prompts: Sequence[str], responses: Sequence[str]
    ) -> list[str]:
        out = []
        for p, r in zip(prompts, responses, strict=True):
            filled = _filled(config.template, outcomes, p, r)
            out.append(str(function(prompt=p, response=r, input=filled)))
        return out

    return judge


def judge_for(config: JudgeConfig, outcomes: OutcomesConfig) -> Judge | None:
    """The judge the config names, or None for the file and string-match judges."""
    if config.kind == "http":
        return http_judge(config, outcomes)
    if config.kind == "callable":
        return callable_judge(config, outcomes)
    return None
