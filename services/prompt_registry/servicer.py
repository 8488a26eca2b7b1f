"""gRPC mapping of the prompt registry: protobuf in, domain call, protobuf out."""

from __future__ import annotations

from google.protobuf import json_format, timestamp_pb2

from llmops.v1 import common_pb2, prompt_registry_pb2, prompt_registry_pb2_grpc
from llmops_core import LabelRecord, PromptRecord
from prompt_registry.domain import PromptRegistry

_TYPES = {
    prompt_registry_pb2.PROMPT_TYPE_TEXT: "text",
    prompt_registry_pb2.PROMPT_TYPE_CHAT: "chat",
}
_TYPE_ENUMS = {name: value for value, name in _TYPES.items()}


class PromptRegistryServicer(prompt_registry_pb2_grpc.PromptRegistryServiceServicer):
    def __init__(self, registry: PromptRegistry) -> None:
        self.registry = registry

    async def CreatePromptVersion(self, request, context):
        record, created = await self.registry.create_version(
            request.name,
            content_from_proto(request.content),
            tags=list(request.tags),
            commit_message=request.commit_message,
            author=request.author,
        )
        return prompt_registry_pb2.CreatePromptVersionResponse(
            version=version_to_proto(record), created=created
        )

    async def GetPromptVersion(self, request, context):
        record = await self.registry.get_version(request.name, request.version)
        return prompt_registry_pb2.GetPromptVersionResponse(version=version_to_proto(record))

    async def SetLabel(self, request, context):
        label = await self.registry.set_label(
            request.name,
            request.label,
            request.version,
            expected_version=request.expected_version
            if request.HasField("expected_version")
            else None,
            author=request.author,
            reason=request.reason,
        )
        return prompt_registry_pb2.SetLabelResponse(label=label_to_proto(label))

    async def ResolvePrompt(self, request, context):
        record, label = await self.registry.resolve(
            request.name, label=request.label, version=request.version
        )
        return prompt_registry_pb2.ResolvePromptResponse(
            version=version_to_proto(record), label=label
        )

    async def RenderPrompt(self, request, context):
        rendered = await self.registry.render(
            request.name, dict(request.variables), label=request.label, version=request.version
        )
        return prompt_registry_pb2.RenderPromptResponse(
            version=version_to_proto(rendered.record),
            text=rendered.text,
            messages=[common_pb2.ChatMessage(**m) for m in rendered.messages],
            unused_variables=rendered.unused_variables,
            label=rendered.label,
        )


def content_from_proto(content: prompt_registry_pb2.PromptContent) -> dict:
    return {
        "type": _TYPES.get(content.type, ""),
        "template": content.template,
        "messages": [{"role": m.role, "content": m.content} for m in content.messages],
        "variables": list(content.variables),
        "model_config": json_format.MessageToDict(
            content.model_config, preserving_proto_field_name=True
        ),
    }


def content_to_proto(content: dict) -> prompt_registry_pb2.PromptContent:
    message = prompt_registry_pb2.PromptContent(
        type=_TYPE_ENUMS[content["type"]],
        template=content.get("template", ""),
        messages=[common_pb2.ChatMessage(**m) for m in content.get("messages", [])],
        variables=content["variables"],
    )
    json_format.ParseDict(content.get("model_config", {}), message.model_config)
    return message


def version_to_proto(record: PromptRecord) -> prompt_registry_pb2.PromptVersion:
    return prompt_registry_pb2.PromptVersion(
        name=record.name,
        version=record.version,
        content=content_to_proto(dict(record.content)),
        tags=record.tags,
        commit_message=record.commit_message,
        author=record.author,
        create_time=_timestamp(record.created_at),
        content_hash=record.content_hash,
    )


def label_to_proto(label: LabelRecord) -> prompt_registry_pb2.Label:
    return prompt_registry_pb2.Label(
        prompt_name=label.prompt_name,
        name=label.name,
        version=label.version,
        protected=label.protected,
        update_time=_timestamp(label.updated_at),
        splits=[prompt_registry_pb2.LabelSplit(version=v, weight=w) for v, w in label.splits],
    )


def _timestamp(seconds: float) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromNanoseconds(int(seconds * 1e9))
    return stamp
