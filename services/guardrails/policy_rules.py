"""What a valid policy version is, checked against the checks this service can run.

``normalise`` is the one gate every new version passes: it raises InvalidArgumentError
with a message that says what to change, and returns the version in canonical form
(times and thresholds as floats, whole numbers in options as integers), so equal
policies hash equally however they were written (YAML, protobuf, service config).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from guardrails.catalog import CheckCatalog
from guardrails.policy import FAILURE_MODES, CheckSettings, PolicyVersion, StreamingSettings
from llmops_core.errors import InvalidArgumentError
from llmops_core.versioning import (
    AUTOMATIC_LABELS,
    MAX_AUTHOR_CHARS,
    MAX_MESSAGE_CHARS,
    check_label,
    check_length,
)

MAX_NAME_CHARS = 100
MAX_DESCRIPTION_CHARS = 4000
MAX_CHECKS_PER_STAGE = 32
MAX_CONTENT_BYTES = 256 * 1024  # the whole version as JSON, options included
MAX_TIME_MS = 60_000.0
MAX_WINDOW_CHARS = 100_000
# Knobs a policy sets on the check itself; the plugin's config holds their defaults only.
POLICY_KNOBS = {"action": "action", "threshold": "threshold", "fail_open": "failure_mode"}
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


def check_name(name: str, field: str = "name") -> str:
    if not name:
        raise InvalidArgumentError(
            f"{field} is empty; give a policy name like 'default' or 'support-strict'",
            reason="EMPTY_FIELD",
            metadata={"field": field},
        )
    if len(name) > MAX_NAME_CHARS or not _NAME.match(name):
        raise InvalidArgumentError(
            f"{field} '{name[:80]}' is not a valid policy name: use lowercase letters, digits, "
            f"'.', '_' and '-', starting with a letter or digit, at most {MAX_NAME_CHARS} "
            "characters",
            reason="INVALID_NAME",
            metadata={"field": field},
        )
    return name


def check_movable_label(label: str) -> None:
    check_label(label)
    if label in AUTOMATIC_LABELS:
        raise InvalidArgumentError(
            f"label '{label}' follows every new version by itself and cannot be set, rolled "
            "back or protected; use another label (e.g. production)",
            reason="AUTOMATIC_LABEL",
        )


def check_version(version: int, field: str = "version") -> None:
    if version < 1:
        raise InvalidArgumentError(
            f"{field} is {version}; give a version number (from 1)", reason="INVALID_VERSION"
        )


def normalise(policy: PolicyVersion, catalog: CheckCatalog) -> PolicyVersion:
    """``policy`` validated and in canonical form; InvalidArgumentError names what to fix."""
    check_name(policy.name)
    check_length(policy.description, "description", MAX_DESCRIPTION_CHARS)
    check_length(policy.commit_message, "commit_message", MAX_MESSAGE_CHARS)
    check_length(policy.author, "author", MAX_AUTHOR_CHARS)
    _one_of(policy.failure_mode, FAILURE_MODES, "failure_mode")
    budget = _milliseconds(policy.time_budget_ms, "time_budget_ms")
    normalised = replace(
        policy,
        time_budget_ms=budget,
        streaming=_streaming(policy.streaming),
        input_checks=_checks(policy.input_checks, "input", catalog),
        output_checks=_checks(policy.output_checks, "output", catalog),
    )
    size = len(json.dumps(normalised.content()).encode())
    if size > MAX_CONTENT_BYTES:
        raise InvalidArgumentError(
            f"the policy is {size} bytes as JSON; the limit is {MAX_CONTENT_BYTES} (keep large "
            "data such as topic lists or schemas short, or split the policy)",
            reason="POLICY_TOO_LARGE",
        )
    return normalised


def _checks(
    checks: Sequence[CheckSettings], stage: str, catalog: CheckCatalog
) -> tuple[CheckSettings, ...]:
    if len(checks) > MAX_CHECKS_PER_STAGE:
        raise InvalidArgumentError(
            f"{len(checks)} {stage} checks; a policy runs at most {MAX_CHECKS_PER_STAGE} per stage",
            reason="TOO_MANY",
        )
    # Reading every check's categories loads every guard plugin: only when needed.
    named = any(settings.category_actions for settings in checks)
    categories = {info.name: info.categories for info in catalog.info()} if named else {}
    seen: set[str] = set()
    result = []
    for index, settings in enumerate(checks):
        where = f"{stage}_checks[{index}]"
        # Unknown check, wrong stage, threshold, actions, failure mode, the plugin's options.
        catalog.validate(settings, stage, where)
        where = f"{where} ({settings.check})"
        if settings.check in seen:
            raise InvalidArgumentError(
                f"{where}: check '{settings.check}' appears twice among the {stage} checks; "
                "keep one entry per check and stage",
                reason="DUPLICATE_CHECK",
            )
        seen.add(settings.check)
        result.append(_check(settings, where, categories.get(settings.check, ())))
    return tuple(result)


def _check(settings: CheckSettings, where: str, categories: Sequence[str]) -> CheckSettings:
    knobs = sorted(key for key in settings.options if key in POLICY_KNOBS)
    if knobs:
        fields = ", ".join(POLICY_KNOBS[key] for key in knobs)
        raise InvalidArgumentError(
            f"{where}: options {', '.join(knobs)} belong on the check itself ({fields}), "
            "not in its options",
            reason="INVALID_OPTIONS",
        )
    unknown = sorted(str(c) for c in settings.category_actions if not _known(c, categories))
    if categories and unknown:
        raise InvalidArgumentError(
            f"{where}: category_actions names {', '.join(unknown)[:200]}, which this check never "
            f"reports; its categories are {', '.join(categories)}",
            reason="UNKNOWN_CATEGORY",
        )
    timeout = None
    if settings.timeout_ms is not None:
        timeout = _milliseconds(settings.timeout_ms, f"{where}: timeout_ms")
    return replace(
        settings,
        threshold=None if settings.threshold is None else float(settings.threshold),
        timeout_ms=timeout,
        category_actions=dict(settings.category_actions),
        options=_canonical(settings.options),
    )


def _known(category: str, categories: Sequence[str]) -> bool:
    """A category the check reports, a parent of some (``pii`` for ``pii.email``; the engine
    applies a parent's action to its children), or one a pattern covers (``topic.*``)."""
    for reported in categories:
        if reported.endswith(".*") and category.startswith(reported[:-1]):
            return True
        if reported == category or reported.startswith(category + "."):
            return True
    return False


def _canonical(value: Any) -> Any:
    """JSON values with whole floats as integers: protobuf's Struct reads 4000 as 4000.0,
    YAML and the service config as 4000, and the version's hash must not depend on it."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, Mapping):
        return {str(key): _canonical(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    return value


def _streaming(streaming: StreamingSettings) -> StreamingSettings:
    window, overlap = streaming.window_chars, streaming.overlap_chars
    if not (isinstance(window, int) and 1 <= window <= MAX_WINDOW_CHARS):
        raise InvalidArgumentError(
            f"streaming.window_chars is {window}; give a whole number from 1 to {MAX_WINDOW_CHARS}",
            reason="OUT_OF_RANGE",
        )
    if not (isinstance(overlap, int) and 0 <= overlap < window):
        raise InvalidArgumentError(
            f"streaming.overlap_chars is {overlap}; give a whole number from 0 to "
            f"window_chars - 1 ({window - 1})",
            reason="OUT_OF_RANGE",
        )
    return replace(streaming, sentence_aware=bool(streaming.sentence_aware))


def _milliseconds(value: Any, field: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 < value <= MAX_TIME_MS
    ):
        raise InvalidArgumentError(
            f"{field} is {value}; give a time in milliseconds above 0 and at most {MAX_TIME_MS:g}",
            reason="OUT_OF_RANGE",
        )
    return float(value)


def _one_of(value: Any, allowed: Sequence[str], field: str) -> None:
    if value not in allowed:
        raise InvalidArgumentError(
            f"{field} is '{str(value)[:80]}'; use one of {', '.join(allowed)}",
            reason="INVALID_VALUE",
        )
