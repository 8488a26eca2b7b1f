"""Protobuf <-> registry records, for the servicer."""

from __future__ import annotations

from google.protobuf import json_format, timestamp_pb2

from llmops.v1 import common_pb2
from llmops.v1 import prompt_registry_pb2 as pb
from llmops_core import (
    LabelRecord,
    PromotionGateRecord,
    PromptEventRecord,
    PromptInfo,
    PromptRecord,
)
from llmops_core.errors import InvalidArgumentError
from prompt_registry.prompts_as_code import ImportResult, PromptSpec

_TYPES = {pb.PROMPT_TYPE_TEXT: "text", pb.PROMPT_TYPE_CHAT: "chat"}
_TYPE_ENUMS = {name: value for value, name in _TYPES.items()}
_EVENT_PREFIX = "PROMPT_EVENT_TYPE_"
_VERSION_CACHE_SIZE = 4096


def content_from_proto(content: pb.PromptContent) -> dict:
    return {
        "type": _TYPES.get(content.type, ""),
        "template": content.template,
        "messages": [{"role": m.role, "content": m.content} for m in content.messages],
        "variables": list(content.variables),
        "model_config": json_format.MessageToDict(
            content.model_config, preserving_proto_field_name=True
        ),
    }


def content_to_proto(content: dict) -> pb.PromptContent:
    message = pb.PromptContent(
        type=_TYPE_ENUMS[content["type"]],
        template=content.get("template", ""),
        messages=[common_pb2.ChatMessage(**m) for m in content.get("messages", [])],
        variables=content["variables"],
    )
    json_format.ParseDict(content.get("model_config", {}), message.model_config)
    return message


def version_to_proto(record: PromptRecord) -> pb.PromptVersion:
    message = _version_without_labels(record)
    message.labels.extend(record.labels)
    return message


class VersionProtos:
    """PromptVersion messages of immutable records, built once: resolving is on every
    request's path, and building the content message is most of its cost."""

    def __init__(self, size: int = _VERSION_CACHE_SIZE) -> None:
        self._size = size
        self._messages: dict[tuple, pb.PromptVersion] = {}

    def fill(self, target: pb.PromptVersion, record: PromptRecord) -> None:
        """Make ``target`` the message of ``record`` (labels included)."""
        key = (record.name, record.version, record.content_hash, record.created_at)
        message = self._messages.get(key)
        if message is None:
            if len(self._messages) >= self._size:
                self._messages.clear()
            message = self._messages[key] = _version_without_labels(record)
        target.CopyFrom(message)
        if record.labels:
            target.labels.extend(record.labels)


def _version_without_labels(record: PromptRecord) -> pb.PromptVersion:
    return pb.PromptVersion(
        name=record.name,
        version=record.version,
        content=content_to_proto(dict(record.content)),
        tags=record.tags,
        commit_message=record.commit_message,
        author=record.author,
        create_time=timestamp(record.created_at),
        content_hash=record.content_hash,
    )


def label_to_proto(label: LabelRecord) -> pb.Label:
    message = pb.Label(
        prompt_name=label.prompt_name,
        name=label.name,
        version=label.version,
        protected=label.protected,
        update_time=timestamp(label.updated_at),
        splits=[pb.LabelSplit(version=v, weight=w) for v, w in label.splits],
    )
    if label.gate is not None:
        message.promotion_gate.CopyFrom(gate_to_proto(label.gate))
    return message


def gate_to_proto(gate: PromotionGateRecord) -> pb.PromotionGate:
    return pb.PromotionGate(
        require_evaluation=gate.require_evaluation,
        metric=gate.metric,
        min_score=gate.min_score,
        dataset=gate.dataset,
    )


def gate_from_proto(request: pb.SetPromotionGateRequest) -> PromotionGateRecord | None:
    if not request.HasField("gate"):
        return None
    gate = request.gate
    return PromotionGateRecord(
        require_evaluation=gate.require_evaluation,
        metric=gate.metric,
        min_score=gate.min_score,
        dataset=gate.dataset,
    )


def prompt_to_proto(info: PromptInfo) -> pb.Prompt:
    return pb.Prompt(
        name=info.name,
        latest_version=info.latest_version,
        version_count=info.latest_version,  # versions are numbered from 1 without gaps
        labels=[label_to_proto(label) for label in info.labels],
        tags=info.tags,
        type=_TYPE_ENUMS.get(info.type, pb.PROMPT_TYPE_UNSPECIFIED),
        create_time=timestamp(info.created_at),
        update_time=timestamp(info.updated_at),
    )


def event_to_proto(event: PromptEventRecord) -> pb.PromptEvent:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromMilliseconds(event.timestamp_ms)
    return pb.PromptEvent(
        event_id=event.event_id,
        type=pb.PromptEventType.Value(_EVENT_PREFIX + event.type)
        if event.type
        else pb.PROMPT_EVENT_TYPE_UNSPECIFIED,
        prompt_name=event.prompt_name,
        version=event.version,
        label=event.label,
        previous_version=event.previous_version,
        splits=[pb.LabelSplit(version=v, weight=w) for v, w in event.splits],
        author=event.author,
        reason=event.reason,
        event_time=stamp,
        evaluation_run_id=event.evaluation_run_id,
        protected=event.protected,
    )


def event_types_from_proto(types) -> tuple[str, ...]:
    names = []
    for index, value in enumerate(types):
        if value == pb.PROMPT_EVENT_TYPE_UNSPECIFIED or value not in pb.PromptEventType.values():
            raise InvalidArgumentError(
                f"types[{index}] is {value}, not an event type; use values of PromptEventType "
                "other than PROMPT_EVENT_TYPE_UNSPECIFIED",
                reason="INVALID_EVENT_TYPE",
            )
        names.append(pb.PromptEventType.Name(value).removeprefix(_EVENT_PREFIX))
    return tuple(names)


def milliseconds(message: object, field: str) -> int:
    """A Timestamp field in Unix milliseconds; 0 when unset."""
    if not message.HasField(field):  # type: ignore[attr-defined]
        return 0
    return getattr(message, field).ToMilliseconds()


def spec_from_proto(spec: pb.PromptSpec) -> PromptSpec:
    return PromptSpec(
        name=spec.name,
        content=content_from_proto(spec.content),
        tags=tuple(spec.tags),
        commit_message=spec.commit_message,
        labels=tuple(spec.labels),
    )


def spec_to_proto(spec: PromptSpec) -> pb.PromptSpec:
    return pb.PromptSpec(
        name=spec.name,
        content=content_to_proto(dict(spec.content)),
        tags=spec.tags,
        commit_message=spec.commit_message,
        labels=spec.labels,
    )


def import_result_to_proto(result: ImportResult) -> pb.PromptImportResult:
    message = pb.PromptImportResult(
        name=result.name,
        created=result.created,
        labels_moved=result.labels_moved,
        error=result.error,
    )
    if result.record is not None:
        message.version.CopyFrom(version_to_proto(result.record))
    return message


def timestamp(seconds: float) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromNanoseconds(int(seconds * 1e9))
    return stamp
