"""``{{variable}}`` templates: parsing with exact error positions, and strict rendering.

Rendering substitutes in a single pass over the parsed template, so a value that
itself contains ``{{...}}`` (a retrieved passage, a user question) is inserted
verbatim and never expanded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from llmops_core.errors import InvalidArgumentError

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Template:
    """A template split into literal text and variable names (odd positions are variables)."""

    parts: tuple[str, ...]

    @property
    def variables(self) -> list[str]:
        return list(dict.fromkeys(self.parts[1::2]))

    def render(self, values: Mapping[str, str]) -> str:
        return "".join(values[part] if index % 2 else part for index, part in enumerate(self.parts))


def parse(text: str, where: str = "template") -> Template:
    """Split ``text`` on ``{{ name }}``; unbalanced or malformed braces are INVALID_ARGUMENT."""
    parts: list[str] = []
    position = 0
    while True:
        start = text.find("{{", position)
        stray_close = text.find("}}", position)
        if stray_close != -1 and (start == -1 or stray_close < start):
            raise _malformed(where, text, stray_close, "'}}' without a matching '{{'")
        if start == -1:
            parts.append(text[position:])
            return Template(tuple(parts))
        end = text.find("}}", start + 2)
        if end == -1:
            raise _malformed(where, text, start, "'{{' is never closed with '}}'")
        name = text[start + 2 : end].strip()
        if not _IDENTIFIER.match(name):
            raise _malformed(
                where,
                text,
                start,
                f"'{text[start : end + 2]}' is not a variable: use letters, digits and '_' "
                "and start with a letter or '_'",
            )
        parts.extend([text[position:start], name])
        position = end + 2


def check_values(required: list[str], values: Mapping[str, str]) -> list[str]:
    """Raise naming every missing variable; return the names given but not used."""
    missing = [name for name in required if name not in values]
    if missing:
        raise InvalidArgumentError(
            f"missing value for variable(s): {', '.join(missing)}; the prompt needs "
            f"{', '.join(required)}",
            reason="MISSING_VARIABLES",
            metadata={"missing": ",".join(missing)},
        )
    return sorted(set(values) - set(required))


def _malformed(where: str, text: str, index: int, problem: str) -> InvalidArgumentError:
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return InvalidArgumentError(
        f"{where} line {line} column {column}: {problem}",
        reason="MALFORMED_TEMPLATE",
    )
