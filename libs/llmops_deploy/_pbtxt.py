"""Protobuf text format, the language of Triton's ``config.pbtxt``: a writer and a parser.

A ``Message`` is a list of ``(field, value)`` pairs, so that repeated fields
(``parameters``, ``input_map``) keep their order. Values: ``str`` (quoted), ``bool``,
``int``, ``float``, ``Enum`` (a bare identifier such as ``TYPE_INT32``), a plain list of
scalars (``[ 1, 2 ]``), a plain list of messages (``[ { ... }, { ... } ]``) or a Message.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass


class Message(list):
    """A text-format message: ``(field, value)`` pairs in order."""


def msg(*pairs: tuple[str, object]) -> Message:
    return Message(pairs)


@dataclass(frozen=True)
class Enum:
    """A bare identifier value (``TYPE_FP16``, ``KIND_CPU``)."""

    name: str

    def __str__(self) -> str:
        return self.name


def dumps(message: Message, indent: int = 0) -> str:
    """The message as text; nested messages indented by two spaces per level."""
    pad = "  " * indent
    lines = []
    for field, value in message:
        if _is_message(value):
            lines.append(f"{pad}{field} {{")
            lines.append(dumps(value, indent + 1))
            lines.append(f"{pad}}}")
        elif isinstance(value, list) and value and all(_is_message(v) for v in value):
            lines.append(f"{pad}{field} [")
            blocks = []
            for item in value:
                blocks.append(f"{pad}  {{\n{dumps(item, indent + 2)}\n{pad}  }}")
            lines.append(",\n".join(blocks))
            lines.append(f"{pad}]")
        elif isinstance(value, list):
            items = ", ".join(_scalar(v) for v in value)
            lines.append(f"{pad}{field}: [ {items} ]" if items else f"{pad}{field}: [ ]")
        else:
            lines.append(f"{pad}{field}: {_scalar(value)}")
    return "\n".join(line for line in lines if line != "")


def _is_message(value: object) -> bool:
    return isinstance(value, Message)


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return value.name
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a valid text-format string: quotes and backslashes escaped
    raise TypeError(f"cannot write {value!r} as a text-format value")


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<comment>\#[^\n]*)
      | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<number>-?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?)
      | (?P<ident>[A-Za-z_][A-Za-z0-9_.]*)
      | (?P<punct>[{}\[\]:,;<>])
    )""",
    re.VERBOSE,
)


class ParseError(ValueError):
    """The text is not valid protobuf text format (or uses a part this parser lacks)."""


def loads(text: str) -> Message:
    """Parse text format into the structure ``dumps`` writes (``Enum`` for identifiers)."""
    return _Parser(_tokenize(text)).message(end=None)


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            if text[position:].strip() == "":
                break
            line = text.count("\n", 0, position) + 1
            raise ParseError(f"line {line}: unexpected {text[position : position + 20]!r}")
        position = match.end()
        kind = match.lastgroup
        if kind and kind != "comment":
            tokens.append((kind, match.group(kind), text.count("\n", 0, match.start()) + 1))
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str, int]]) -> None:
        self.tokens = tokens
        self.at = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str, int]:
        token = self.peek()
        if token is None:
            raise ParseError(
                f"unexpected end of text, expected {repr(value) if value else 'a value'}"
            )
        if value is not None and token[1] != value:
            raise ParseError(f"line {token[2]}: expected '{value}', found '{token[1]}'")
        self.at += 1
        return token

    def message(self, end: str | None) -> Message:
        fields = Message()
        while True:
            token = self.peek()
            if token is None:
                if end is not None:
                    raise ParseError(f"unexpected end of text, expected '{end}'")
                return fields
            if token[1] == end:
                self.take()
                return fields
            kind, name, line = self.take()
            if kind != "ident":
                raise ParseError(f"line {line}: expected a field name, found '{name}'")
            colon = self.peek() is not None and self.peek()[1] == ":"
            if colon:
                self.take(":")
            fields.append((name, self.value(line, colon)))
            if self.peek() is not None and self.peek()[1] in (",", ";"):
                self.take()

    def value(self, line: int, colon: bool) -> object:
        token = self.peek()
        if token is None:
            raise ParseError(f"line {line}: a field without a value")
        if token[1] in ("{", "<"):
            self.take()
            return self.message("}" if token[1] == "{" else ">")
        if token[1] == "[":
            self.take()
            items: list[object] = []
            while self.peek() is not None and self.peek()[1] != "]":
                items.append(self.value(line, True))
                if self.peek() is not None and self.peek()[1] == ",":
                    self.take()
            self.take("]")
            return items
        if not colon:
            raise ParseError(f"line {token[2]}: expected ':' before a scalar value")
        kind, text, _ = self.take()
        if kind == "string":
            return _unquote(text)
        if kind == "number":
            return float(text) if any(c in text for c in ".eE") else int(text)
        if kind == "ident":
            if text in ("true", "True"):
                return True
            if text in ("false", "False"):
                return False
            return Enum(text)
        raise ParseError(f"line {token[2]}: unexpected '{text}'")


def _unquote(text: str) -> str:
    body = text[1:-1]
    if text[0] == "'":
        body = body.replace('\\"', '"').replace('"', '\\"').replace("\\'", "'")
    return json.loads(f'"{body}"')


def field(message: Message, name: str, default: object = None) -> object:
    """The last value of a field (text format lets a singular field repeat; the last wins)."""
    found = [v for k, v in message if k == name]
    return found[-1] if found else default


def fields(message: Message, name: str) -> list[object]:
    """Every value of a repeated field, flattening the ``[ ... ]`` list form."""
    out: list[object] = []
    for key, value in message:
        if key != name:
            continue
        if isinstance(value, list) and not _is_message(value):
            out.extend(value)  # the `name [ a, b ]` form
        else:
            out.append(value)
    return out


def parameters(message: Message) -> dict[str, str]:
    """``parameters { key: ... value: { string_value: ... } }`` as a dict."""
    result = {}
    for entry in fields(message, "parameters"):
        value = field(entry, "value", [])
        result[str(field(entry, "key"))] = str(field(value, "string_value", ""))
    return result
