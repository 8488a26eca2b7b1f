"""Differences between two prompt versions: a unified diff of the text, and field by field."""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llmops_core import PromptRecord


@dataclass(frozen=True)
class FieldChange:
    """One field that differs; a value is "" where the field is absent."""

    field: str
    before: str
    after: str


def unified_diff(older: PromptRecord, newer: PromptRecord) -> str:
    """``difflib`` unified diff of the templates (chat messages as "role: content" lines)."""
    lines = difflib.unified_diff(
        _text_lines(older.content),
        _text_lines(newer.content),
        fromfile=f"{older.name}@{older.version}",
        tofile=f"{newer.name}@{newer.version}",
        lineterm="",
    )
    return "\n".join(lines)


def field_changes(older: PromptRecord, newer: PromptRecord) -> list[FieldChange]:
    """Every changed field of content and tags, in a fixed order."""
    before, after = older.content, newer.content
    changes: list[FieldChange] = []

    def compare(field: str, old: Any, new: Any) -> None:
        if old != new:
            changes.append(FieldChange(field, _text(old), _text(new)))

    compare("type", before.get("type"), after.get("type"))
    compare("template", before.get("template"), after.get("template"))
    old_messages = before.get("messages") or []
    new_messages = after.get("messages") or []
    for index in range(max(len(old_messages), len(new_messages))):
        old = old_messages[index] if index < len(old_messages) else {}
        new = new_messages[index] if index < len(new_messages) else {}
        compare(f"messages[{index}].role", old.get("role"), new.get("role"))
        compare(f"messages[{index}].content", old.get("content"), new.get("content"))
    compare(
        "variables",
        ", ".join(before.get("variables") or []),
        ", ".join(after.get("variables") or []),
    )
    old_config: Mapping[str, Any] = before.get("model_config") or {}
    new_config: Mapping[str, Any] = after.get("model_config") or {}
    compare("model_config.model", old_config.get("model"), new_config.get("model"))
    old_sampling = old_config.get("sampling") or {}
    new_sampling = new_config.get("sampling") or {}
    for name in sorted(set(old_sampling) | set(new_sampling)):
        compare(f"model_config.sampling.{name}", old_sampling.get(name), new_sampling.get(name))
    compare("tags", ", ".join(older.tags), ", ".join(newer.tags))
    return changes


def _text_lines(content: Mapping[str, Any]) -> list[str]:
    if content.get("type") == "chat":
        text = "\n".join(f"{m['role']}: {m['content']}" for m in content.get("messages") or [])
    else:
        text = content.get("template") or ""
    return text.splitlines()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):  # stop words: JSON keeps spaces, commas and newlines visible
        return json.dumps(value, ensure_ascii=False)
    return str(value)
