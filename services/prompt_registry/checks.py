"""The prompt registry's input rules: names, labels, tags, splits, gates, lengths.

Each check raises InvalidArgumentError with a message that says what to send instead;
the registry runs them before it touches the store, so a bad request changes nothing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from llmops_core import PromotionGateRecord
from llmops_core.errors import InvalidArgumentError
from llmops_core.versioning import AUTOMATIC_LABELS, check_label, check_length

MAX_TAGS = 32
MAX_TAG_CHARS = 64
MAX_SPLITS = 10
MAX_WEIGHT = 1_000_000
MAX_STICKY_KEY_CHARS = 1000
MAX_RUN_ID_CHARS = 200
DEFAULT_LABEL = "production"
_PREFIX = re.compile(r"^[a-z0-9._/-]{0,200}$")
_EVENT_ID = re.compile(r"^\d{1,20}-\d{1,20}$")


def check_movable_label(label: str) -> None:
    check_label(label)
    if label in AUTOMATIC_LABELS:
        raise InvalidArgumentError(
            f"label '{label}' is maintained automatically (it follows every new version) and "
            "cannot be set, split, rolled back, protected, gated or deleted; use another label",
            reason="AUTOMATIC_LABEL",
        )


def check_splits(splits: Sequence[tuple[int, int]]) -> None:
    if not splits:
        raise InvalidArgumentError(
            "splits is empty; give at least one arm (version and weight)", reason="EMPTY_FIELD"
        )
    if len(splits) > MAX_SPLITS:
        raise InvalidArgumentError(
            f"{len(splits)} arms; a split has at most {MAX_SPLITS}", reason="TOO_MANY"
        )
    seen: set[int] = set()
    for index, (version, weight) in enumerate(splits):
        if version < 1:
            raise InvalidArgumentError(
                f"splits[{index}].version is {version}; give a version number (from 1)",
                reason="INVALID_SPLIT",
            )
        if version in seen:
            raise InvalidArgumentError(
                f"version {version} appears twice in splits; give each version once with its "
                "whole weight",
                reason="INVALID_SPLIT",
            )
        seen.add(version)
        if not 0 < weight <= MAX_WEIGHT:
            raise InvalidArgumentError(
                f"splits[{index}].weight is {weight}; weights are whole numbers from 1 to "
                f"{MAX_WEIGHT} (e.g. 90 and 10 for a 90/10 split)",
                reason="INVALID_SPLIT",
            )


def check_gate(gate: PromotionGateRecord) -> None:
    if not gate.require_evaluation:
        raise InvalidArgumentError(
            "gate.require_evaluation is false, which gates nothing; set it to true, or leave "
            "gate unset to remove the label's gate",
            reason="INVALID_GATE",
        )
    check_length(gate.metric, "gate.metric", 100)
    check_length(gate.dataset, "gate.dataset", 200)
    if not math.isfinite(gate.min_score):
        raise InvalidArgumentError("gate.min_score must be a finite number", reason="INVALID_GATE")
    if gate.min_score and not gate.metric:
        raise InvalidArgumentError(
            "gate.min_score needs gate.metric: name the metric the score is for",
            reason="INVALID_GATE",
        )


def check_run_ids(run_ids: Sequence[str]) -> None:
    if len(run_ids) > MAX_SPLITS:
        raise InvalidArgumentError(
            f"{len(run_ids)} evaluation runs; give at most {MAX_SPLITS}", reason="TOO_MANY"
        )
    for run_id in run_ids:
        if not run_id.strip():
            raise InvalidArgumentError("evaluation run ids must not be empty", reason="EMPTY_FIELD")
        check_length(run_id, "evaluation_run_id", MAX_RUN_ID_CHARS)


def check_prefix(prefix: str) -> None:
    if not _PREFIX.match(prefix):
        raise InvalidArgumentError(
            f"prefix '{prefix[:80]}' cannot start a prompt name: use lowercase letters, digits, "
            "'.', '_', '-' and '/' (e.g. 'support/'), at most 200 characters",
            reason="INVALID_PREFIX",
        )


def check_tags(tags: Sequence[str]) -> tuple[str, ...]:
    if len(tags) > MAX_TAGS:
        raise InvalidArgumentError(f"{len(tags)} tags; the limit is {MAX_TAGS}", reason="TOO_MANY")
    for tag in tags:
        if not tag.strip() or tag != tag.strip() or len(tag) > MAX_TAG_CHARS:
            raise InvalidArgumentError(
                f"tag '{tag[:80]}' is not valid: tags hold 1 to {MAX_TAG_CHARS} characters "
                "without leading or trailing spaces",
                reason="INVALID_TAG",
            )
    return tuple(dict.fromkeys(tags))


def check_event_position(position: str | None) -> str | None:
    if position is not None and not _EVENT_ID.match(position):
        raise InvalidArgumentError(
            "page_token is not a token this server issued", reason="INVALID_PAGE_TOKEN"
        )
    return position
