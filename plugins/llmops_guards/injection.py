"""Prompt-injection and jailbreak phrases, scored by weighted patterns.

Each pattern is evidence with a weight; scores combine as independent evidence
(1 - prod(1 - w)), so one strong phrase blocks and several weak ones add up.
"""

from __future__ import annotations

import re
from typing import ClassVar

from llmops_core import Finding, GuardInput
from llmops_guards._base import GuardConfig, LocalGuard

_PATTERNS: list[tuple[float, str, re.Pattern[str]]] = [
    (
        0.9,
        "override",
        re.compile(
            r"\b(ignore|disregard|forget|override|skip)\b[\w\s,]{0,30}\b(previous|prior|above|earlier|"
            r"preceding|all|any|your|the|system)\b[\w\s]{0,20}\b(instructions?|prompts?|rules|"
            r"directions|guidelines|context|messages?)",
            re.I,
        ),
    ),
    (
        0.8,
        "prompt-extraction",
        re.compile(
            # "your instructions", or the system's own prompt: not "the instructions for X".
            r"\b(reveal|show|print|repeat|output|tell me|what (is|are))\b[\w\s]{0,20}"
            r"\b(your\s+([\w]+\s+){0,2}(prompt|instructions|rules)|the\s+(system|initial|hidden|"
            r"original|secret)\s+(prompt|instructions))",
            re.I,
        ),
    ),
    (
        0.8,
        "persona-jailbreak",
        re.compile(
            r"\b(you are now|from now on,? you are|pretend (to be|you are)|act as|roleplay as)\b"
            r"[\w\s]{0,30}\b(dan|unfiltered|uncensored|jailbroken|evil|without (any )?(rules|limits|"
            r"restrictions|filters))",
            re.I,
        ),
    ),
    (
        0.9,
        "do-anything-now",
        re.compile(r"\b(do anything now|developer mode|jailbreak(ed)?)\b", re.I),
    ),
    (
        0.6,
        "bypass",
        re.compile(
            r"\b(bypass|disable|turn off|get around|circumvent)\b[\w\s]{0,20}\b(safety|filters?|"
            r"guardrails?|restrictions|content polic(y|ies)|moderation)",
            re.I,
        ),
    ),
    (
        0.4,
        "no-limits",
        re.compile(
            r"\b(no|without)\s+(any\s+)?(restrictions|limitations|rules|censorship|filters)\b", re.I
        ),
    ),
    (
        0.4,
        "fake-system",
        re.compile(r"(^|\n)\s*(system|assistant)\s*:|<\|im_start\|>|\[/?INST\]", re.I),
    ),
]


class PromptInjectionGuard(LocalGuard):
    name: ClassVar[str] = "prompt-injection"
    Config: ClassVar[type[GuardConfig]] = GuardConfig
    stages: ClassVar[frozenset[str]] = frozenset({"input"})
    description: ClassVar[str] = (
        "Instructions that try to override, extract or jailbreak the prompt."
    )

    async def check(self, item: GuardInput) -> list[Finding]:
        spans: list[tuple[int, int]] = []
        kinds: list[str] = []
        keep = 1.0
        for weight, kind, pattern in _PATTERNS:
            match = pattern.search(item.text)
            if match:
                keep *= 1.0 - weight
                spans.append(match.span())
                kinds.append(kind)
        if not kinds:
            return []
        score = round(1.0 - keep, 4)
        return [Finding("prompt-injection", score, "looks like " + ", ".join(kinds), tuple(spans))]
