"""Reading typed fields of a YAML mapping, shared by prompt and policy files."""

from __future__ import annotations

from typing import Any


def text_field(data: dict[str, Any], key: str) -> str:
    """``data[key]`` as text; absent is ""."""
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{key} must be text")
    return value


def names_field(data: dict[str, Any], key: str) -> list[str]:
    """``data[key]`` as a list of names; one bare name (``labels: staging``) is a list of one."""
    value = data.get(key) or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{key} must be a list of names")
    return value
