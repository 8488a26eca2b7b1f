"""Request rules of the versioned registries (prompts, guardrail policies): labels, audit fields.

Both registries keep immutable versions with labels moved by compare-and-set, and record
who moved a label and why; these checks fail with a message that says what to send instead.
"""

from __future__ import annotations

import re

from llmops_core.errors import InvalidArgumentError

# Moved by the store itself on every new version; requests may not set it.
AUTOMATIC_LABELS = ("latest",)
MAX_AUTHOR_CHARS = 200
MAX_MESSAGE_CHARS = 2000  # commit messages and reasons
_LABEL = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")


def check_label(label: str) -> None:
    if not _LABEL.match(label):
        raise InvalidArgumentError(
            f"label '{label[:80]}' is not a valid label name: use 1 to 63 lowercase letters, "
            "digits, '.', '_' and '-', starting with a letter or digit",
            reason="INVALID_LABEL",
        )


def check_expected(expected_version: int | None) -> None:
    """A compare-and-set version: None (no check), 0 (the label must not exist) or a version."""
    if expected_version is not None and expected_version < 0:
        raise InvalidArgumentError(
            f"expected_version is {expected_version}; give 0 (the label must not exist yet), "
            "the label's current version, or leave it unset for no check",
            reason="INVALID_VERSION",
        )


def check_length(value: str, field: str, most: int) -> None:
    if len(value) > most:
        raise InvalidArgumentError(
            f"{field} has {len(value)} characters; the limit is {most}",
            reason="FIELD_TOO_LONG",
            metadata={"field": field, "limit": str(most)},
        )


def check_audit_fields(author: str, reason: str) -> None:
    check_length(author, "author", MAX_AUTHOR_CHARS)
    check_length(reason, "reason", MAX_MESSAGE_CHARS)


def optional_version(request: object, field: str) -> int | None:
    """A proto3 ``optional`` version field of a request: None when unset, else its value."""
    return getattr(request, field) if request.HasField(field) else None  # type: ignore[attr-defined]
