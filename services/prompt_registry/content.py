"""What a valid prompt version says, in the one canonical form that is hashed and stored.

Content is a JSON-able mapping: ``type`` ("text" or "chat"), ``template`` or
``messages``, declared ``variables`` and ``model_config`` (model and sampling, as
protobuf's JSON mapping with field names). Equal canonical forms are the same version,
so the form drops what carries no meaning (unset sampling fields, an empty model).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from typing import Any

from llmops_core import templates
from llmops_core.errors import InvalidArgumentError

MAX_TEMPLATE_CHARS = 100_000  # per text template or chat message
MAX_MESSAGES = 100
MAX_VARIABLES = 100
MAX_MODEL_CHARS = 200
MAX_STOP_WORDS = 16
MAX_STOP_WORD_CHARS = 200
MAX_BAD_WORDS = 256
ROLES = ("system", "user", "assistant")
TYPES = ("text", "chat")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# Sampling fields with their allowed range (inclusive); None: unbounded on that side.
_NUMBER_RANGES: dict[str, tuple[float | None, float | None]] = {
    "max_tokens": (0, None),
    "temperature": (0.0, 2.0),
    "top_p": (0.0, 1.0),
    "top_k": (0, None),
    "repetition_penalty": (0.0, None),
    "presence_penalty": (-2.0, 2.0),
    "frequency_penalty": (-2.0, 2.0),
    "beam_width": (0, None),
}
_SAMPLING_FIELDS = (*_NUMBER_RANGES, "stop", "bad_words", "seed")


def normalise_content(content: Mapping[str, Any]) -> dict[str, Any]:
    """Validate content and return its canonical form; INVALID_ARGUMENT says what to fix."""
    kind = content.get("type")
    if kind not in TYPES:
        raise InvalidArgumentError(
            "content.type must be text or chat (PROMPT_TYPE_TEXT or PROMPT_TYPE_CHAT)",
            reason="INVALID_TYPE",
        )
    if kind == "text":
        template = content.get("template", "")
        if content.get("messages"):
            raise InvalidArgumentError(
                "a text prompt has a template, not messages; use type chat for messages",
                reason="TYPE_CONTENT_MISMATCH",
            )
        _check_size(template, "content.template")
        parsed = [templates.parse(template, "content.template")]
        body: dict[str, Any] = {"template": template}
    else:
        messages = list(content.get("messages") or [])
        if content.get("template"):
            raise InvalidArgumentError(
                "a chat prompt has messages, not a template; use type text for a template",
                reason="TYPE_CONTENT_MISMATCH",
            )
        if not messages:
            raise InvalidArgumentError(
                "a chat prompt needs at least one message", reason="EMPTY_FIELD"
            )
        if len(messages) > MAX_MESSAGES:
            raise InvalidArgumentError(
                f"{len(messages)} messages; the limit is {MAX_MESSAGES}", reason="TOO_MANY"
            )
        parsed = []
        for index, message in enumerate(messages):
            if message.get("role") not in ROLES:
                raise InvalidArgumentError(
                    f"content.messages[{index}].role is '{message.get('role')}'; "
                    f"use one of {', '.join(ROLES)}",
                    reason="INVALID_ROLE",
                )
            _check_size(message.get("content", ""), f"content.messages[{index}].content")
            parsed.append(templates.parse(message["content"], f"content.messages[{index}]"))
        body = {"messages": [{"role": m["role"], "content": m["content"]} for m in messages]}
    used = list(dict.fromkeys(v for template in parsed for v in template.variables))
    declared = _declared(content.get("variables") or [])
    undeclared = [v for v in used if v not in declared]
    if undeclared:
        raise InvalidArgumentError(
            f"the template uses undeclared variable(s) {', '.join(undeclared)}; add them to "
            f"variables (declared: {', '.join(declared) or 'none'})",
            reason="UNDECLARED_VARIABLES",
            metadata={"variables": ",".join(undeclared)},
        )
    unused = [v for v in declared if v not in used]
    if unused:
        raise InvalidArgumentError(
            f"variable(s) {', '.join(unused)} are declared but the template never uses them; "
            "remove them from variables or add {{" + unused[0] + "}} to the template",
            reason="UNUSED_VARIABLES",
            metadata={"variables": ",".join(unused)},
        )
    return {
        "type": kind,
        **body,
        "variables": declared,
        "model_config": normalise_model_config(content.get("model_config") or {}),
    }


def normalise_model_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Model and sampling without empty or unset fields, every value in range."""
    unknown = set(config) - {"model", "sampling"}
    if unknown:
        raise InvalidArgumentError(
            f"model_config has unknown field(s) {', '.join(sorted(unknown))}; "
            "it holds model and sampling",
            reason="INVALID_MODEL_CONFIG",
        )
    result: dict[str, Any] = {}
    model = config.get("model") or ""
    if len(model) > MAX_MODEL_CHARS:
        raise InvalidArgumentError(
            f"model_config.model has {len(model)} characters; the limit is {MAX_MODEL_CHARS}",
            reason="FIELD_TOO_LONG",
        )
    if model:
        result["model"] = model
    sampling = _normalise_sampling(config.get("sampling") or {})
    if sampling:
        result["sampling"] = sampling
    return result


def _normalise_sampling(sampling: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(sampling) - set(_SAMPLING_FIELDS)
    if unknown:
        raise InvalidArgumentError(
            f"model_config.sampling has unknown field(s) {', '.join(sorted(unknown))}",
            reason="INVALID_MODEL_CONFIG",
        )
    result: dict[str, Any] = {}
    for name, (low, high) in _NUMBER_RANGES.items():
        value = sampling.get(name)
        if not value:
            continue
        if not isinstance(value, int | float) or not math.isfinite(value):
            raise InvalidArgumentError(
                f"model_config.sampling.{name} is {value!r}; give a finite number",
                reason="INVALID_MODEL_CONFIG",
            )
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise InvalidArgumentError(
                f"model_config.sampling.{name} is {value}; it must be {bounds}",
                reason="OUT_OF_RANGE",
                metadata={"field": f"model_config.sampling.{name}"},
            )
        result[name] = value
    for name, most in (("stop", MAX_STOP_WORDS), ("bad_words", MAX_BAD_WORDS)):
        words = list(sampling.get(name) or [])
        if len(words) > most:
            raise InvalidArgumentError(
                f"model_config.sampling.{name} has {len(words)} entries; the limit is {most}",
                reason="TOO_MANY",
            )
        for word in words:
            if not word or len(word) > MAX_STOP_WORD_CHARS:
                raise InvalidArgumentError(
                    f"model_config.sampling.{name} entries must hold 1 to "
                    f"{MAX_STOP_WORD_CHARS} characters",
                    reason="INVALID_MODEL_CONFIG",
                )
        if words:
            result[name] = words
    if "seed" in sampling:  # optional: 0 is a seed, unset is not
        result["seed"] = str(sampling["seed"])
    return result


def content_hash(content: Mapping[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def _declared(variables: list[str]) -> list[str]:
    if len(variables) > MAX_VARIABLES:
        raise InvalidArgumentError(
            f"{len(variables)} variables; the limit is {MAX_VARIABLES}", reason="TOO_MANY"
        )
    for name in variables:
        if not _IDENTIFIER.match(name):
            raise InvalidArgumentError(
                f"variable '{name[:60]}' is not a valid name: use letters, digits and '_', "
                "starting with a letter or '_'",
                reason="INVALID_VARIABLE",
            )
    duplicates = sorted({name for name in variables if variables.count(name) > 1})
    if duplicates:
        raise InvalidArgumentError(
            f"variable(s) {', '.join(duplicates)} are declared twice; declare each once",
            reason="DUPLICATE_VARIABLES",
        )
    return list(variables)


def _check_size(text: str, field: str) -> None:
    if not text.strip():
        raise InvalidArgumentError(
            f"{field} is empty; write the template text", reason="EMPTY_FIELD"
        )
    if len(text) > MAX_TEMPLATE_CHARS:
        raise InvalidArgumentError(
            f"{field} has {len(text)} characters; the limit is {MAX_TEMPLATE_CHARS}",
            reason="FIELD_TOO_LONG",
            metadata={"field": field, "limit": str(MAX_TEMPLATE_CHARS)},
        )
