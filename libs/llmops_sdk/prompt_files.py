"""Prompts as files (YAML): what ``llmops prompt push`` reads and ``llmops prompt export`` writes.

A file declares one version of one prompt::

    name: support/triage         # lowercase slug segments; "/" makes folders
    type: chat                   # or text, with `template:` instead of `messages:`
    variables: [question]        # default: the placeholders, in order of appearance
    model_config:                # protobuf JSON of ModelConfig, field names as in the proto
      model: smollm2-135m
      sampling: {max_tokens: 120, temperature: 0.3}
    messages:
      - {role: system, content: Answer briefly.}
      - {role: user, content: "{{question}}"}
    tags: [support]
    labels: [staging]            # labels to point at this version when the file is pushed
                                 # (a split label named here ends up plain)
    commit_message: Shorter answers
    author: ana                  # default: whoever pushes

The content (type, template or messages, variables, model config) is what identifies a
version: pushing a file whose content a version already has finds that version.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from google.protobuf import json_format

from llmops.v1 import prompt_registry_pb2 as pb
from llmops_core import templates
from llmops_core.errors import InvalidArgumentError
from llmops_sdk._yaml_fields import names_field, text_field

SUFFIX = ".yaml"
DEFAULT_AUTHOR = "prompt-file"
_TYPES = {"text": pb.PROMPT_TYPE_TEXT, "chat": pb.PROMPT_TYPE_CHAT}
_TYPE_NAMES = {value: name for name, value in _TYPES.items()}
_KEYS = (
    "name",
    "type",
    "variables",
    "model_config",
    "template",
    "messages",
    "tags",
    "labels",
    "commit_message",
    "author",
)


@dataclass(frozen=True)
class PromptFile:
    """One parsed prompt file: the spec it declares and who it names as author ("" if nobody)."""

    path: Path
    spec: pb.PromptSpec
    author: str = ""


def load_prompt_file(path: Path) -> PromptFile:
    """Parse one YAML prompt file; INVALID_ARGUMENT names the file and what to fix."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InvalidArgumentError(f"{path}: cannot read the prompt file: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise InvalidArgumentError(f"{path}: a prompt file is a mapping with at least a name")
    unknown = sorted(str(key) for key in data if key not in _KEYS)
    if unknown:
        # A misspelt key ("variable:", "label:") would otherwise change nothing, silently.
        raise InvalidArgumentError(
            f"{path}: unknown key(s) {', '.join(unknown)}; a prompt file has {', '.join(_KEYS)}"
        )
    try:
        spec = _spec(data)
    except (TypeError, ValueError, KeyError, json_format.ParseError) as exc:
        raise InvalidArgumentError(f"{path}: {exc}") from exc
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(f"{path}: {exc}", reason=exc.reason) from exc
    return PromptFile(path=path, spec=spec, author=text_field(data, "author"))


def read_prompt_file(path: Path) -> pb.CreatePromptVersionRequest:
    """One YAML prompt file as the request that creates (or finds) its version."""
    loaded = load_prompt_file(path)
    return pb.CreatePromptVersionRequest(
        name=loaded.spec.name,
        content=loaded.spec.content,
        tags=loaded.spec.tags,
        commit_message=loaded.spec.commit_message,
        author=loaded.author or DEFAULT_AUTHOR,
    )


def fallback_prompts(paths: Iterable[Path]) -> dict[str, pb.PromptVersion]:
    """Prompt files as the versions a PromptCache serves when the registry is unreachable.

    They carry version 0: a reply built on one says so, never passing for a registry version.
    """
    fallbacks = {}
    for path in paths:
        request = read_prompt_file(Path(path))
        fallbacks[request.name] = pb.PromptVersion(
            name=request.name,
            version=0,
            content=request.content,
            tags=request.tags,
            commit_message=f"fallback from {path}",
        )
    return fallbacks


def prompt_file_path(root: Path, name: str) -> Path:
    """Where ``export`` writes prompt ``name`` under ``root``: one folder per "/" segment."""
    segments = name.split("/")
    if not name or any(not s or s.startswith(".") or "\\" in s for s in segments):
        raise InvalidArgumentError(f"prompt name {name!r} does not map to a file path")
    return Path(root, *segments[:-1], segments[-1] + SUFFIX)


def prompt_file_data(spec: pb.PromptSpec, author: str = "") -> dict[str, Any]:
    """The YAML mapping of a spec, keys in the order people read them; empty fields left out."""
    content = spec.content
    data: dict[str, Any] = {"name": spec.name, "type": _TYPE_NAMES.get(content.type, "")}
    # Always written, even empty: a file then never depends on inferring them.
    data["variables"] = list(content.variables)
    model_config = json_format.MessageToDict(content.model_config, preserving_proto_field_name=True)
    sampling = model_config.get("sampling", {})
    if "seed" in sampling:  # int64 is a string in protobuf JSON; a number reads better
        sampling["seed"] = int(sampling["seed"])
    if model_config:
        data["model_config"] = model_config
    if content.type == pb.PROMPT_TYPE_CHAT:
        data["messages"] = [{"role": m.role, "content": m.content} for m in content.messages]
    else:
        data["template"] = content.template
    if spec.tags:
        data["tags"] = list(spec.tags)
    if spec.labels:
        data["labels"] = list(spec.labels)
    if spec.commit_message:
        data["commit_message"] = spec.commit_message
    if author:
        data["author"] = author
    return data


def dump_prompt_file(spec: pb.PromptSpec, author: str = "") -> str:
    """The text of a prompt file that ``load_prompt_file`` reads back into the same spec."""
    return yaml.dump(
        prompt_file_data(spec, author),
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=100,
    )


def write_prompt_file(path: Path, spec: pb.PromptSpec, author: str = "") -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump_prompt_file(spec, author))


def _spec(data: dict[str, Any]) -> pb.PromptSpec:
    kind = data.get("type", "text")
    if kind not in _TYPES:
        raise ValueError(f"type must be text or chat, not {kind!r}")
    content = pb.PromptContent(type=_TYPES[kind], template=text_field(data, "template"))
    for index, message in enumerate(data.get("messages") or []):
        if not isinstance(message, dict) or set(message) != {"role", "content"}:
            raise ValueError(f"messages[{index}] must be a mapping of role and content")
        content.messages.add(role=str(message["role"]), content=str(message["content"]))
    if "variables" in data:
        content.variables.extend(names_field(data, "variables"))
    else:
        texts = [content.template] + [m.content for m in content.messages]
        placeholders = [templates.parse(t, "template").variables for t in texts]
        content.variables.extend(dict.fromkeys(v for names in placeholders for v in names))
    model_config = data.get("model_config") or {}
    if not isinstance(model_config, dict):
        raise ValueError("model_config must be a mapping (model, sampling)")
    json_format.ParseDict(model_config, content.model_config)
    return pb.PromptSpec(
        name=data["name"],
        content=content,
        tags=names_field(data, "tags"),
        commit_message=text_field(data, "commit_message"),
        labels=names_field(data, "labels"),
    )


class _Dumper(yaml.SafeDumper):
    """Block scalars for multi-line text, flow style for short lists of names."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _represent_list(dumper: yaml.SafeDumper, value: list) -> yaml.Node:
    flow = all(isinstance(v, str | int | float) and "\n" not in str(v) for v in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(list, _represent_list)

__all__ = [
    "DEFAULT_AUTHOR",
    "SUFFIX",
    "PromptFile",
    "dump_prompt_file",
    "fallback_prompts",
    "load_prompt_file",
    "prompt_file_data",
    "prompt_file_path",
    "read_prompt_file",
    "write_prompt_file",
]
