"""JSON-schema validity: the answer must be JSON that a configured JSON Schema accepts.

The schema is checked when the policy is loaded (against its own meta-schema), so a
broken schema is a configuration error, not a failure on every answer. References
resolve only inside the schema: nothing is fetched. Hostile answers are bounded: an
answer over ``max_chars`` is not parsed, nesting deeper than ``max_depth`` is refused
before validation (the parser and the validator both recurse), and validation stops
after ``MAX_ERRORS`` errors. Validation costs about 0.1 ms per JSON value, so an answer
over ``THREAD_CHARS`` is parsed and validated in a worker thread: the event loop, and with
it the policy's time budget, keeps running meanwhile.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from typing import Any, ClassVar

import jsonschema
from jsonschema.exceptions import SchemaError, ValidationError, best_match
from jsonschema_specifications import REGISTRY as SPECIFICATIONS
from pydantic import ConfigDict, Field, field_validator

from llmops_core import Finding, GuardInput, PluginContext
from llmops_guards._base import Action, GuardConfig, LocalGuard

MAX_ERRORS = 100
THREAD_CHARS = 20_000
_FENCE = "```"


class JsonSchemaConfig(GuardConfig):
    # ``schema`` is the option's name; pydantic's BaseModel has a ``schema`` attribute.
    model_config = ConfigDict(populate_by_name=True)
    action: Action = "block"
    json_schema: dict[str, Any] = Field(default_factory=dict, alias="schema")  # {}: any JSON
    allow_code_fence: bool = False  # accept the JSON inside a ```json fenced block
    check_formats: bool = False  # also check "format" (email, date-time, ...)
    max_chars: int = Field(default=200_000, ge=1, le=10_000_000)
    max_depth: int = Field(default=64, ge=1, le=100)  # recursion stays far from the limit

    @field_validator("json_schema")
    @classmethod
    def _valid_schema(cls, schema: dict[str, Any]) -> dict[str, Any]:
        try:
            jsonschema.validators.validator_for(schema).check_schema(schema)
        except SchemaError as exc:
            where = exc.json_path if exc.path else "the schema"
            raise ValueError(f"not a valid JSON Schema at {where}: {exc.message}") from None
        unresolvable = _external_refs(schema)
        if unresolvable:
            raise ValueError(
                f"the schema refers to {unresolvable[0]!r}: only references inside the schema "
                "(such as '#/$defs/item') are resolved, nothing is fetched"
            )
        return schema


class JsonSchemaGuard(LocalGuard):
    name: ClassVar[str] = "json-schema"
    Config: ClassVar[type[GuardConfig]] = JsonSchemaConfig
    stages: ClassVar[frozenset[str]] = frozenset({"output"})
    description: ClassVar[str] = "Answers that are not JSON valid against the configured schema."
    categories: ClassVar[tuple[str, ...]] = ("schema.invalid_json", "schema.mismatch")
    needs_context: ClassVar[bool] = False
    supports_redaction: ClassVar[bool] = False
    # A streamed answer is judged once complete: half a JSON document is never valid.
    needs_complete_text: ClassVar[bool] = True

    def __init__(self, config: JsonSchemaConfig, context: PluginContext) -> None:
        super().__init__(config, context)
        cls = jsonschema.validators.validator_for(config.json_schema)
        format_checker = cls.FORMAT_CHECKER if config.check_formats else None
        # The registry holds the published meta-schemas and retrieves nothing.
        self._validator = cls(
            config.json_schema, format_checker=format_checker, registry=SPECIFICATIONS
        )

    async def check(self, item: GuardInput) -> list[Finding]:
        config: JsonSchemaConfig = self.config  # type: ignore[assignment]
        if len(item.text) > config.max_chars:
            return [_invalid(f"the answer is longer than {config.max_chars} characters")]
        offset, document = _document(item.text, config.allow_code_fence)
        depth = _nesting(document)
        if depth > config.max_depth:
            return [_invalid(f"JSON nested {depth} deep, more than {config.max_depth}")]
        if len(document) > THREAD_CHARS:
            return await asyncio.to_thread(self._judge, document, offset, len(item.text))
        return self._judge(document, offset, len(item.text))

    def _judge(self, document: str, offset: int, length: int) -> list[Finding]:
        try:
            value = json.loads(document)
        except RecursionError:  # malformed text whose depth the scan above misjudged
            return [_invalid("JSON nested too deep")]
        except json.JSONDecodeError as exc:
            position = offset + exc.pos
            span = ((position, position + 1),) if position < length else ()
            return [_invalid(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", span)]
        errors = list(itertools.islice(self._validator.iter_errors(value), MAX_ERRORS))
        if not errors:
            return []
        error: ValidationError = best_match(errors)
        return [
            Finding(
                "schema.mismatch",
                1.0,
                f"{error.json_path}: {_short(error.message)}"
                + (f" ({len(errors)} errors)" if len(errors) > 1 else ""),
            )
        ]


def _invalid(message: str, spans: tuple[tuple[int, int], ...] = ()) -> Finding:
    return Finding("schema.invalid_json", 1.0, message, spans)


def _document(text: str, allow_code_fence: bool) -> tuple[int, str]:
    """The JSON to parse and where it starts in ``text``: the first fenced block's body
    when fences are allowed and the answer has one, else the whole answer."""
    if allow_code_fence:
        opening = text.find(_FENCE)
        if opening >= 0:
            line_end = text.find("\n", opening)
            info = text[opening + len(_FENCE) : line_end if line_end >= 0 else len(text)]
            if line_end >= 0 and info.strip().lower() in ("", "json"):
                closing = text.find(_FENCE, line_end + 1)
                if closing >= 0:
                    return line_end + 1, text[line_end + 1 : closing]
    return 0, text


def _nesting(document: str) -> int:
    """Deepest nesting of arrays and objects, brackets inside strings excluded.

    C-speed string operations only: strings are cut out (escapes first), everything but
    brackets dropped, and the depth is the running sum of +1 per opener, -1 per closer.
    """
    if "[" not in document and "{" not in document:
        return 0
    outside = "".join(document.replace("\\\\", "").replace('\\"', "").split('"')[0::2])
    brackets = _NOT_BRACKET.sub("", outside)
    return max(itertools.accumulate(map(_STEP.__getitem__, brackets)), default=0)


_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def _external_refs(schema: dict[str, Any]) -> list[str]:
    """``$ref`` values that point outside the schema, its embedded ``$id``s and the
    published meta-schemas."""
    ids, refs = set(), []
    stack: list[Any] = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("$id"), str):
                ids.add(node["$id"].split("#")[0])
            if isinstance(node.get("$ref"), str):
                refs.append(node["$ref"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    known = ids | {""}
    return [
        r for r in refs if r.split("#")[0] not in known and r.split("#")[0] not in SPECIFICATIONS
    ]


def _short(message: str, limit: int = 200) -> str:
    return message if len(message) <= limit else message[: limit - 3] + "..."
