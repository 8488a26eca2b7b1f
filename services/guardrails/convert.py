"""Protobuf <-> guardrails domain values (policies, labels, audit events), for the servicer."""

from __future__ import annotations

from google.protobuf import duration_pb2, json_format, struct_pb2, timestamp_pb2

from guardrails.policy import (
    DEFAULT_TIME_BUDGET_MS,
    CheckSettings,
    PolicyVersion,
    StreamingSettings,
)
from llmops.v1 import common_pb2
from llmops.v1 import guardrails_pb2 as pb
from llmops_core import LabelRecord, PromptEventRecord
from llmops_core.errors import InvalidArgumentError
from llmops_sdk.policy_files import float32_value

ACTION_ENUMS = {
    "allow": common_pb2.GUARD_ACTION_ALLOW,
    "log": common_pb2.GUARD_ACTION_LOG,
    "flag": common_pb2.GUARD_ACTION_FLAG,
    "redact": common_pb2.GUARD_ACTION_REDACT,
    "block": common_pb2.GUARD_ACTION_BLOCK,
}
ACTION_NAMES = {value: name for name, value in ACTION_ENUMS.items()}
FAILURE_MODE_ENUMS = {"open": pb.FAILURE_MODE_OPEN, "closed": pb.FAILURE_MODE_CLOSED}
FAILURE_MODE_NAMES = {value: name for name, value in FAILURE_MODE_ENUMS.items()}
# Store event types (PROMPT_EVENT_TYPES) that policies have; the others never occur for them.
_EVENT_TYPES = {
    name.removeprefix("POLICY_EVENT_TYPE_"): value
    for name, value in pb.PolicyEventType.items()
    if value != pb.POLICY_EVENT_TYPE_UNSPECIFIED
}


# --- requests -> domain ---------------------------------------------------------------------


def policy_from_proto(message: pb.Policy) -> PolicyVersion:
    """The policy a request describes; version, create_time and content_hash are ignored."""
    streaming = StreamingSettings()
    if message.HasField("streaming"):
        options = message.streaming
        streaming = StreamingSettings(
            window_chars=options.window_chars or streaming.window_chars,
            overlap_chars=options.overlap_chars,
            sentence_aware=options.sentence_aware,
        )
    return PolicyVersion(
        name=message.name,
        input_checks=tuple(
            _check(c, f"input_checks[{i}]") for i, c in enumerate(message.input_checks)
        ),
        output_checks=tuple(
            _check(c, f"output_checks[{i}]") for i, c in enumerate(message.output_checks)
        ),
        failure_mode=_failure_mode(message.failure_mode, "failure_mode") or "closed",
        time_budget_ms=(
            _milliseconds(message.time_budget)
            if message.HasField("time_budget")
            else DEFAULT_TIME_BUDGET_MS
        ),
        streaming=streaming,
        description=message.description,
        author=message.author,
        commit_message=message.commit_message,
    )


def _check(message: pb.CheckConfig, where: str) -> CheckSettings:
    category_actions = {}
    for category, action in message.category_actions.items():
        category_actions[category] = _action(action, f"{where}.category_actions[{category}]")
        if category_actions[category] is None:
            raise InvalidArgumentError(
                f"{where}.category_actions[{category}] is unset; give an action or leave the "
                "category out",
                reason="INVALID_VALUE",
            )
    return CheckSettings(
        check=message.check,
        threshold=float32_value(message.threshold) if message.threshold else None,
        action=_action(message.action, f"{where}.action"),
        category_actions=category_actions,
        options=json_format.MessageToDict(message.options) if message.HasField("options") else {},
        failure_mode=_failure_mode(message.failure_mode, f"{where}.failure_mode"),
        timeout_ms=_milliseconds(message.timeout) if message.HasField("timeout") else None,
    )


def _action(value: int, field: str) -> str | None:
    if value == common_pb2.GUARD_ACTION_UNSPECIFIED:
        return None
    if value not in ACTION_NAMES:
        raise InvalidArgumentError(
            f"{field} is {value}, not a GuardAction; use ALLOW, LOG, FLAG, REDACT or BLOCK",
            reason="INVALID_VALUE",
        )
    return ACTION_NAMES[value]


def _failure_mode(value: int, field: str) -> str | None:
    if value == pb.FAILURE_MODE_UNSPECIFIED:
        return None
    if value not in FAILURE_MODE_NAMES:
        raise InvalidArgumentError(
            f"{field} is {value}, not a FailureMode; use FAILURE_MODE_OPEN or FAILURE_MODE_CLOSED",
            reason="INVALID_VALUE",
        )
    return FAILURE_MODE_NAMES[value]


def _milliseconds(duration: duration_pb2.Duration) -> float:
    return duration.seconds * 1000.0 + duration.nanos / 1e6


# --- domain -> responses --------------------------------------------------------------------


def policy_to_proto(policy: PolicyVersion) -> pb.Policy:
    return pb.Policy(
        name=policy.name,
        version=policy.version,
        input_checks=[_check_to_proto(c) for c in policy.input_checks],
        output_checks=[_check_to_proto(c) for c in policy.output_checks],
        failure_mode=FAILURE_MODE_ENUMS[policy.failure_mode],
        time_budget=_duration(policy.time_budget_ms),
        description=policy.description,
        author=policy.author,
        commit_message=policy.commit_message,
        create_time=_timestamp(policy.created_at),
        content_hash=policy.content_hash,
        streaming=pb.StreamingOptions(
            window_chars=policy.streaming.window_chars,
            overlap_chars=policy.streaming.overlap_chars,
            sentence_aware=policy.streaming.sentence_aware,
        ),
        labels=policy.labels,
    )


def _check_to_proto(check: CheckSettings) -> pb.CheckConfig:
    message = pb.CheckConfig(
        check=check.check,
        threshold=check.threshold or 0.0,
        action=ACTION_ENUMS.get(check.action or "", common_pb2.GUARD_ACTION_UNSPECIFIED),
        category_actions={k: ACTION_ENUMS[v] for k, v in check.category_actions.items()},
        failure_mode=FAILURE_MODE_ENUMS.get(check.failure_mode or "", pb.FAILURE_MODE_UNSPECIFIED),
    )
    if check.options:
        options = struct_pb2.Struct()
        options.update(dict(check.options))
        message.options.CopyFrom(options)
    if check.timeout_ms is not None:
        message.timeout.CopyFrom(_duration(check.timeout_ms))
    return message


def label_to_proto(label: LabelRecord) -> pb.PolicyLabel:
    return pb.PolicyLabel(
        name=label.name,
        version=label.version,
        protected=label.protected,
        update_time=_timestamp(label.updated_at),
    )


def event_to_proto(event: PromptEventRecord) -> pb.PolicyEvent:
    kind = _EVENT_TYPES.get(event.type, pb.POLICY_EVENT_TYPE_UNSPECIFIED)
    time = timestamp_pb2.Timestamp()
    time.FromMilliseconds(event.timestamp_ms)
    return pb.PolicyEvent(
        event_id=event.event_id,
        type=kind,
        policy_name=event.prompt_name,
        version=event.version,
        label=event.label,
        previous_version=event.previous_version,
        author=event.author,
        reason=event.reason,
        event_time=time,
    )


def _duration(milliseconds: float) -> duration_pb2.Duration:
    duration = duration_pb2.Duration()
    duration.FromNanoseconds(round(milliseconds * 1e6))
    return duration


def _timestamp(seconds: float) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromNanoseconds(round(seconds * 1e9))
    return stamp
