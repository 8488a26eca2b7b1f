"""Prompts as files (YAML): the format ``llmops prompt push`` reads and the demo prompt uses."""

from __future__ import annotations

from pathlib import Path

import yaml
from google.protobuf import json_format

from llmops.v1 import prompt_registry_pb2 as pb
from llmops_core.errors import InvalidArgumentError

_TYPES = {"text": pb.PROMPT_TYPE_TEXT, "chat": pb.PROMPT_TYPE_CHAT}


def read_prompt_file(path: Path) -> pb.CreatePromptVersionRequest:
    """One YAML prompt file as the request that creates (or finds) its version."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidArgumentError(f"{path}: cannot read the prompt file: {exc}") from exc
    if not isinstance(data, dict) or "name" not in data:
        raise InvalidArgumentError(f"{path}: a prompt file is a mapping with at least a name")
    content = pb.PromptContent(
        type=_TYPES.get(data.get("type", "text"), pb.PROMPT_TYPE_UNSPECIFIED),
        template=data.get("template", ""),
        variables=data.get("variables", []),
    )
    for message in data.get("messages", []):
        content.messages.add(role=message["role"], content=message["content"])
    json_format.ParseDict(data.get("model_config", {}), content.model_config)
    return pb.CreatePromptVersionRequest(
        name=data["name"],
        content=content,
        tags=data.get("tags", []),
        commit_message=data.get("commit_message", ""),
        author=data.get("author", "prompt-file"),
    )
