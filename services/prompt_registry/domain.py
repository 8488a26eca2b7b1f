"""The prompt registry's rules: what a valid prompt is, versioning, labels, resolving, rendering.

Pure logic over a PromptStore: no gRPC here. Content is a JSON-able mapping
(type, template or messages, declared variables, model config); two pushes with
the same content are the same version.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llmops_core import LabelRecord, PromptRecord, PromptStore, require_name, templates
from llmops_core.errors import InvalidArgumentError, NotFoundError

MAX_TEMPLATE_CHARS = 100_000
MAX_MESSAGES = 100
MAX_TAGS = 32
ROLES = ("system", "user", "assistant")
AUTOMATIC_LABELS = ("latest",)
DEFAULT_LABEL = "production"


@dataclass(frozen=True)
class Rendered:
    """A rendered prompt version: text for text prompts, messages for chat prompts."""

    record: PromptRecord
    label: str
    text: str
    messages: list[dict[str, str]]
    unused_variables: list[str]


def normalise_content(content: Mapping[str, Any]) -> dict[str, Any]:
    """Validate content and return its canonical form (the one that is hashed and stored)."""
    kind = content.get("type")
    if kind not in ("text", "chat"):
        raise InvalidArgumentError("content.type must be text or chat", reason="INVALID_TYPE")
    if kind == "text":
        template = content.get("template", "")
        if content.get("messages"):
            raise InvalidArgumentError("a text prompt has a template, not messages")
        _check_size(template, "content.template")
        parsed = [templates.parse(template, "content.template")]
        body: dict[str, Any] = {"template": template}
    else:
        messages = list(content.get("messages") or [])
        if content.get("template"):
            raise InvalidArgumentError("a chat prompt has messages, not a template")
        if not messages:
            raise InvalidArgumentError(
                "a chat prompt needs at least one message", reason="EMPTY_FIELD"
            )
        if len(messages) > MAX_MESSAGES:
            raise InvalidArgumentError(f"{len(messages)} messages; the limit is {MAX_MESSAGES}")
        parsed = []
        for index, message in enumerate(messages):
            if message.get("role") not in ROLES:
                raise InvalidArgumentError(
                    f"content.messages[{index}].role is '{message.get('role')}'; "
                    f"use one of {', '.join(ROLES)}"
                )
            _check_size(message.get("content", ""), f"content.messages[{index}].content")
            parsed.append(templates.parse(message["content"], f"content.messages[{index}]"))
        body = {"messages": [{"role": m["role"], "content": m["content"]} for m in messages]}
    used = list(dict.fromkeys(v for template in parsed for v in template.variables))
    declared = list(content.get("variables") or [])
    undeclared = [v for v in used if declared and v not in declared]
    if undeclared:
        raise InvalidArgumentError(
            f"the template uses undeclared variable(s) {', '.join(undeclared)}; declare them "
            f"in variables (declared: {', '.join(declared)})",
            reason="UNDECLARED_VARIABLES",
        )
    return {
        "type": kind,
        **body,
        "variables": declared or used,
        "model_config": dict(content.get("model_config") or {}),
    }


def content_hash(content: Mapping[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


class PromptRegistry:
    """Versioned prompts over a PromptStore."""

    def __init__(self, store: PromptStore) -> None:
        self.store = store

    async def create_version(
        self,
        name: str,
        content: Mapping[str, Any],
        *,
        tags: list[str],
        commit_message: str,
        author: str,
    ) -> tuple[PromptRecord, bool]:
        require_name(name, "name")
        if len(tags) > MAX_TAGS:
            raise InvalidArgumentError(f"{len(tags)} tags; the limit is {MAX_TAGS}")
        canonical = normalise_content(content)
        draft = PromptRecord(
            name=name,
            version=0,
            content=canonical,
            content_hash=content_hash(canonical),
            tags=tuple(tags),
            commit_message=commit_message,
            author=author,
        )
        return await self.store.create_version(draft)

    async def get_version(self, name: str, version: int) -> PromptRecord:
        require_name(name, "name")
        if version < 1:
            raise InvalidArgumentError(f"version is {version}; versions start at 1")
        record = await self.store.get_version(name, version)
        if record is None:
            raise await self._missing_version(name, version)
        return record

    async def set_label(
        self,
        name: str,
        label: str,
        version: int,
        *,
        expected_version: int | None,
        author: str,
        reason: str,
    ) -> LabelRecord:
        require_name(name, "name")
        require_name(label, "label")
        if label in AUTOMATIC_LABELS:
            raise InvalidArgumentError(f"label '{label}' is maintained automatically; pick another")
        if expected_version is not None and expected_version < 0:
            raise InvalidArgumentError("expected_version must be 0 (label must not exist) or more")
        await self.get_version(name, version)
        return await self.store.set_label(
            name, label, version, expected_version=expected_version, author=author, reason=reason
        )

    async def resolve(
        self, name: str, *, label: str = "", version: int = 0
    ) -> tuple[PromptRecord, str]:
        """The version a label points at (or the given version); NOT_FOUND, never a fallback."""
        require_name(name, "name")
        if version:
            return await self.get_version(name, version), ""
        label = label or DEFAULT_LABEL
        pointer = await self.store.get_label(name, label)
        if pointer is None:
            if await self.store.latest_version(name) == 0:
                raise NotFoundError(f"prompt '{name}' does not exist", reason="PROMPT_NOT_FOUND")
            known = ", ".join(record.name for record in await self.store.list_labels(name))
            raise NotFoundError(
                f"prompt '{name}' has no label '{label}' (labels: {known})",
                reason="LABEL_NOT_FOUND",
            )
        return await self.get_version(name, pointer.version), label

    async def render(
        self, name: str, variables: Mapping[str, str], *, label: str = "", version: int = 0
    ) -> Rendered:
        record, resolved_label = await self.resolve(name, label=label, version=version)
        content = record.content
        unused = templates.check_values(list(content["variables"]), variables)
        if content["type"] == "text":
            text = templates.parse(content["template"]).render(variables)
            return Rendered(record, resolved_label, text, [], unused)
        messages = [
            {"role": m["role"], "content": templates.parse(m["content"]).render(variables)}
            for m in content["messages"]
        ]
        return Rendered(record, resolved_label, "", messages, unused)

    async def _missing_version(self, name: str, version: int) -> NotFoundError:
        latest = await self.store.latest_version(name)
        if latest == 0:
            return NotFoundError(f"prompt '{name}' does not exist", reason="PROMPT_NOT_FOUND")
        return NotFoundError(
            f"prompt '{name}' has no version {version}; its versions are 1 to {latest}",
            reason="VERSION_NOT_FOUND",
        )


def _check_size(text: str, field: str) -> None:
    if not text.strip():
        raise InvalidArgumentError(f"{field} is empty", reason="EMPTY_FIELD")
    if len(text) > MAX_TEMPLATE_CHARS:
        raise InvalidArgumentError(
            f"{field} has {len(text)} characters; the limit is {MAX_TEMPLATE_CHARS}",
            reason="FIELD_TOO_LONG",
        )
