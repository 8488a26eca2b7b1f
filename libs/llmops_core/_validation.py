"""Request checks shared by the servicers, each failing with a message a person can act on."""

from __future__ import annotations

import re

from llmops_core.errors import InvalidArgumentError

_NAME = re.compile(
    r"^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?(?:/[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?)*$"
)
MAX_NAME_CHARS = 200


def require_text(value: str, field: str, *, max_chars: int) -> str:
    """``value`` must hold non-blank text of at most ``max_chars`` characters."""
    if not value or not value.strip():
        raise InvalidArgumentError(
            f"{field} is empty; send some text", reason="EMPTY_FIELD", metadata={"field": field}
        )
    if len(value) > max_chars:
        raise InvalidArgumentError(
            f"{field} has {len(value)} characters; the limit is {max_chars}",
            reason="FIELD_TOO_LONG",
            metadata={"field": field, "limit": str(max_chars)},
        )
    return value


def require_name(value: str, field: str) -> str:
    """A resource name: lowercase slug segments (a-z, 0-9, '.', '_', '-') joined by '/'."""
    if not value:
        raise InvalidArgumentError(
            f"{field} is empty; give a name like 'support/answer'",
            reason="EMPTY_FIELD",
            metadata={"field": field},
        )
    if len(value) > MAX_NAME_CHARS or not _NAME.match(value):
        raise InvalidArgumentError(
            f"{field} '{value[:80]}' is not a valid name: use lowercase letters, digits, '.', '_' "
            f"and '-', folders separated by '/', each part starting and ending with a letter or "
            f"digit, at most {MAX_NAME_CHARS} characters",
            reason="INVALID_NAME",
            metadata={"field": field},
        )
    return value


def require_range(value: float, field: str, low: float, high: float) -> float:
    if not low <= value <= high:
        raise InvalidArgumentError(
            f"{field} is {value}; it must be between {low} and {high}",
            reason="OUT_OF_RANGE",
            metadata={"field": field},
        )
    return value
