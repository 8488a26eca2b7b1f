"""Guardrail policies as files (YAML): what ``llmops policy push`` reads and ``export`` writes.

A file declares one version of one policy::

    name: support-strict              # [a-z0-9][a-z0-9_.-]*
    description: Stricter checks for the support assistant.
    failure_mode: closed              # a check that errors or overruns: closed blocks, open passes
    time_budget_ms: 1500              # the whole decision (default 2000)
    streaming: {window_chars: 200, overlap_chars: 50, sentence_aware: true}
    input:                            # checks on the user's input, run concurrently
      - check: prompt-injection       # a check name, as `llmops guard checks` lists them
        threshold: 0.7                # findings scoring below it are dropped
        action: block                 # allow, log, flag, redact or block
        failure_mode: open            # this check only
        timeout_ms: 300
      - check: pii
        category_actions: {pii.email: redact, pii.us_ssn: block}
        options: {categories: [email, us-ssn]}   # the check's own settings
    output:
      - check: groundedness
    labels: [staging]                 # labels to point at this version when the file is pushed
    commit_message: Stricter injection threshold
    author: ana                       # default: whoever pushes

Everything but ``name``, ``labels``, ``commit_message`` and ``author`` is the version's
content: pushing a file whose content a version already has finds that version.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from google.protobuf import duration_pb2, json_format, struct_pb2

from llmops.v1 import common_pb2
from llmops.v1 import guardrails_pb2 as pb
from llmops_core.errors import InvalidArgumentError
from llmops_sdk._yaml_fields import names_field, text_field

SUFFIX = ".yaml"
DEFAULT_AUTHOR = "policy-file"
_KEYS = (
    "name",
    "description",
    "failure_mode",
    "time_budget_ms",
    "streaming",
    "input",
    "output",
    "labels",
    "commit_message",
    "author",
)
_CHECK_KEYS = (
    "check",
    "threshold",
    "action",
    "category_actions",
    "failure_mode",
    "timeout_ms",
    "options",
)
# What a file leaves out of `streaming:` (the service's own defaults).
_STREAMING_DEFAULTS = {"window_chars": 200, "overlap_chars": 50, "sentence_aware": True}
_ACTIONS = {
    "allow": common_pb2.GUARD_ACTION_ALLOW,
    "log": common_pb2.GUARD_ACTION_LOG,
    "flag": common_pb2.GUARD_ACTION_FLAG,
    "redact": common_pb2.GUARD_ACTION_REDACT,
    "block": common_pb2.GUARD_ACTION_BLOCK,
}
_ACTION_NAMES = {value: name for name, value in _ACTIONS.items()}
_MODES = {"open": pb.FAILURE_MODE_OPEN, "closed": pb.FAILURE_MODE_CLOSED}
_MODE_NAMES = {value: name for name, value in _MODES.items()}


@dataclass(frozen=True)
class PolicyFile:
    """One parsed policy file: the version it declares and the labels to point at it."""

    path: Path
    policy: pb.Policy
    labels: tuple[str, ...] = ()


def load_policy_file(path: Path) -> PolicyFile:
    """Parse one YAML policy file; INVALID_ARGUMENT names the file and what to fix."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InvalidArgumentError(
            f"{path}: cannot read the policy file: {exc}", reason="INVALID_POLICY_FILE"
        ) from exc
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise InvalidArgumentError(
            f"{path}: a policy file is a mapping with at least a name", reason="INVALID_POLICY_FILE"
        )
    try:
        _known_keys(data, _KEYS, "a policy file")
        policy = _policy(data)
        labels = tuple(names_field(data, "labels"))
    except (TypeError, ValueError, json_format.ParseError) as exc:
        raise InvalidArgumentError(f"{path}: {exc}", reason="INVALID_POLICY_FILE") from exc
    return PolicyFile(path=path, policy=policy, labels=labels)


def policy_file_path(root: Path, name: str) -> Path:
    """Where ``export`` writes policy ``name`` under ``root``."""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise InvalidArgumentError(f"policy name {name!r} does not map to a file name")
    return Path(root, name + SUFFIX)


def policy_file_data(policy: pb.Policy, labels: tuple[str, ...] = ()) -> dict[str, Any]:
    """The YAML mapping of a policy version, keys in the order people read them."""
    data: dict[str, Any] = {"name": policy.name}
    if policy.description:
        data["description"] = policy.description
    data["failure_mode"] = _MODE_NAMES.get(policy.failure_mode, "closed")
    if policy.HasField("time_budget"):
        data["time_budget_ms"] = _number(_milliseconds(policy.time_budget))
    if policy.HasField("streaming"):
        data["streaming"] = {
            "window_chars": policy.streaming.window_chars,
            "overlap_chars": policy.streaming.overlap_chars,
            "sentence_aware": policy.streaming.sentence_aware,
        }
    data["input"] = [_check_data(check) for check in policy.input_checks]
    data["output"] = [_check_data(check) for check in policy.output_checks]
    if labels:
        data["labels"] = list(labels)
    if policy.commit_message:
        data["commit_message"] = policy.commit_message
    return data


def dump_policy_file(policy: pb.Policy, labels: tuple[str, ...] = ()) -> str:
    """The text of a policy file that ``load_policy_file`` reads back into the same version."""
    return yaml.safe_dump(
        policy_file_data(policy, labels), sort_keys=False, allow_unicode=True, width=100
    )


def write_policy_file(path: Path, policy: pb.Policy, labels: tuple[str, ...] = ()) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump_policy_file(policy, labels))


def float32_value(value: float) -> float:
    """The shortest decimal that is the same float32: 0.7 for the 0.699999988 a proto float holds."""
    if not math.isfinite(value):
        return value
    packed = struct.pack("<f", value)
    for digits in range(1, 10):
        short = float(f"{value:.{digits}g}")
        if struct.pack("<f", short) == packed:
            return short
    return value


# --- file -> protobuf ------------------------------------------------------------------------


def _policy(data: dict[str, Any]) -> pb.Policy:
    policy = pb.Policy(
        name=data["name"],
        description=text_field(data, "description"),
        commit_message=text_field(data, "commit_message"),
        author=text_field(data, "author"),
    )
    if "failure_mode" in data:
        policy.failure_mode = _choice(data["failure_mode"], _MODES, "failure_mode")
    if "time_budget_ms" in data:
        policy.time_budget.CopyFrom(_duration(data["time_budget_ms"], "time_budget_ms"))
    streaming = data.get("streaming")
    if streaming is not None:
        if not isinstance(streaming, dict):
            raise ValueError("streaming must be a mapping (window_chars, overlap_chars, ...)")
        _known_keys(streaming, tuple(_STREAMING_DEFAULTS), "streaming")
        streaming = {**_STREAMING_DEFAULTS, **streaming}
        policy.streaming.window_chars = _whole(streaming, "window_chars")
        policy.streaming.overlap_chars = _whole(streaming, "overlap_chars")
        if not isinstance(streaming["sentence_aware"], bool):
            raise ValueError("streaming.sentence_aware must be true or false")
        policy.streaming.sentence_aware = streaming["sentence_aware"]
    for stage, target in (("input", policy.input_checks), ("output", policy.output_checks)):
        checks = data.get(stage) or []
        if not isinstance(checks, list):
            raise ValueError(f"{stage} must be a list of checks")
        for index, check in enumerate(checks):
            target.append(_check(check, f"{stage}[{index}]"))
    return policy


def _check(data: Any, where: str) -> pb.CheckConfig:
    if isinstance(data, str):  # `- pii`: the check with its defaults
        data = {"check": data}
    if not isinstance(data, dict) or not isinstance(data.get("check"), str):
        raise ValueError(f"{where} must be a check name or a mapping with `check:`")
    _known_keys(data, _CHECK_KEYS, where)
    check = pb.CheckConfig(check=data["check"])
    if data.get("threshold") is not None:
        threshold = data["threshold"]
        if isinstance(threshold, bool) or not isinstance(threshold, int | float):
            raise ValueError(f"{where}.threshold must be a number between 0 and 1")
        check.threshold = threshold
    if data.get("action") is not None:
        check.action = _choice(data["action"], _ACTIONS, f"{where}.action")
    actions = data.get("category_actions") or {}
    if not isinstance(actions, dict):
        raise ValueError(f"{where}.category_actions must map categories to actions")
    for category, action in actions.items():
        field = f"{where}.category_actions.{category}"
        check.category_actions[str(category)] = _choice(action, _ACTIONS, field)
    if data.get("failure_mode") is not None:
        check.failure_mode = _choice(data["failure_mode"], _MODES, f"{where}.failure_mode")
    if data.get("timeout_ms") is not None:
        check.timeout.CopyFrom(_duration(data["timeout_ms"], f"{where}.timeout_ms"))
    options = data.get("options")
    if options:
        if not isinstance(options, dict):
            raise ValueError(f"{where}.options must be a mapping of the check's settings")
        message = struct_pb2.Struct()
        message.update(options)
        check.options.CopyFrom(message)
    return check


def _choice(value: Any, choices: Mapping[str, int], field: str) -> int:
    if value not in choices:
        raise ValueError(f"{field} is {value!r}; use one of {', '.join(choices)}")
    return choices[value]


def _duration(value: Any, field: str) -> duration_pb2.Duration:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{field} must be a number of milliseconds")
    duration = duration_pb2.Duration()
    duration.FromNanoseconds(round(value * 1e6))
    return duration


def _whole(streaming: dict[str, Any], key: str) -> int:
    value = streaming[key]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
        raise ValueError(f"streaming.{key} must be a whole number of characters")
    return value


def _known_keys(data: dict[str, Any], keys: tuple[str, ...], what: str) -> None:
    unknown = sorted(str(key) for key in data if key not in keys)
    if unknown:
        # A misspelt key ("treshold:", "label:") would otherwise change nothing, silently.
        raise ValueError(f"unknown key(s) {', '.join(unknown)}; {what} has {', '.join(keys)}")


# --- protobuf -> file ------------------------------------------------------------------------


def _check_data(check: pb.CheckConfig) -> dict[str, Any]:
    data: dict[str, Any] = {"check": check.check}
    if check.threshold:
        data["threshold"] = float32_value(check.threshold)
    if check.action:
        data["action"] = _ACTION_NAMES[check.action]
    if check.category_actions:
        data["category_actions"] = {
            category: _ACTION_NAMES[action]
            for category, action in sorted(check.category_actions.items())
        }
    if check.failure_mode:
        data["failure_mode"] = _MODE_NAMES[check.failure_mode]
    if check.HasField("timeout"):
        data["timeout_ms"] = _number(_milliseconds(check.timeout))
    if check.HasField("options") and check.options.fields:
        data["options"] = _number(json_format.MessageToDict(check.options))
    return data


def _milliseconds(duration: duration_pb2.Duration) -> float:
    return duration.seconds * 1000.0 + duration.nanos / 1e6


def _number(value: Any) -> Any:
    """Whole floats as integers (protobuf's Struct holds every number as a float), keys sorted."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):  # sorted: a Struct's map keeps no order
        return {key: _number(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_number(item) for item in value]
    return value


__all__ = [
    "DEFAULT_AUTHOR",
    "SUFFIX",
    "PolicyFile",
    "dump_policy_file",
    "float32_value",
    "load_policy_file",
    "policy_file_data",
    "policy_file_path",
    "write_policy_file",
]
