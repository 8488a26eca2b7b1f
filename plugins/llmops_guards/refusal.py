"""Refusals: answers that decline the request ("I can't help with that", "As an AI ...").

A refusal is a quality metric more than a threat (a model that refuses harmless
questions fails its users), so the default action only logs it. Phrases are matched
by linear-time regexes (bounded repetitions, no nested quantifiers) in English and, for
the common openings, Spanish, French, German, Italian, Portuguese, Russian, Chinese and
Japanese. A refusal phrase must speak of the assistant declining ("I can't help",
"I won't write") rather than of things that cannot be ("the module cannot be found"),
and stock phrases such as "I can't help but" or "I can't wait" do not count.
A phrase near the start of the answer scores higher than one deep inside it: a long
answer that declines one part late on is mostly an answer. Only the first
``max_chars`` characters are searched (a refusal opens an answer or is the whole of a
short one), which bounds the time on any input.

Measured on guard-models/data/refusal_labelled.jsonl (written for this repository):
see refusal_test.py for the figures it must keep.
"""

from __future__ import annotations

import re
from typing import ClassVar

from pydantic import Field

from llmops_core import Finding, GuardInput
from llmops_guards._base import Action, GuardConfig, LocalGuard

EARLY_CHARS = 300  # a refusal usually opens the answer
LATE_FACTOR = 0.7

_NOT = r"(?:can\s?not|can'?t|can’t|won'?t|won’t|will not|do not|don'?t|don’t|am unable to|'m unable to|’m unable to|am not able to|'m not able to|’m not able to|am not allowed to|'m not allowed to|’m not allowed to|am not going to|'m not going to|’m not going to|must decline to|must refuse to)"
_DO = (
    r"(?:help|assist|provide|comply|fulfil+|answer|do (?:that|this|it)|support|engage|"
    r"participate|create|generate|write|share|give|offer|complete|continue|discuss|access|"
    r"make|produce|draft|disclose|reveal|be able to (?:help|assist|provide|do|write|share))"
)
_APOLOGY = r"(?:sorry|apologi[sz]e|apologies|afraid|regret|unfortunately|regrettably)"

_PATTERNS: list[tuple[float, re.Pattern[str]]] = [
    # "I can't help with that", "I won't write that", "I'm unable to provide ..."
    (0.9, re.compile(rf"\bi\s?{_NOT}\s(?:(?:and|or) {_NOT}\s)?(?:\w+\s)?{_DO}\b", re.I)),
    # "I'm sorry, but I cannot ...": an apology before a declining verb in one sentence
    (0.9, re.compile(rf"\b{_APOLOGY}\b[^.!?\n]{{0,60}}\bi\s?{_NOT}", re.I)),
    # "As an AI language model, I cannot ..."
    (
        0.9,
        re.compile(
            r"\bas an ai\b[^.!?\n]{0,60}\bi\s?(?:can\s?not|can'?t|can’t|won'?t|won’t|do not|"
            r"don'?t|don’t|am not|'m not|’m not|am unable|'m unable|’m unable)\b",
            re.I,
        ),
    ),
    (
        0.9,
        re.compile(
            r"\bi\s?(?:must|have to|will have to)\s(?:respectfully\s|politely\s)?"
            r"(?:decline|refuse)\b|\bi\s?(?:cannot|can't|can’t|will not|won't|won’t)\s"
            r"comply\b|\bi(?:'d| would)\s(?:rather not|prefer not to)\s(?:help|assist|answer|"
            r"write|provide|discuss)",
            re.I,
        ),
    ),
    # "not something I can help with", "not in a position to", "not comfortable writing"
    (
        0.85,
        re.compile(
            r"\bnot something (?:i|that i)(?:'m| am)? (?:can|could|am able to|'m able to|"
            r"will) (?:help|assist|do|provide)|\bnot in a position to (?:help|provide|give|"
            r"assist|answer)|\b(?:not|don'?t feel|do not feel) comfortable (?:with|providing|"
            r"helping|writing|sharing|answering|giving|creating)",
            re.I,
        ),
    ),
    # "That request goes against my guidelines", "it would not be appropriate for me to"
    (
        0.8,
        re.compile(
            r"\bagainst my (?:guidelines|programming|polic(?:y|ies)|principles|rules)|"
            r"\b(?:not (?:be )?|in)appropriate for me to\b|\bi\s?(?:can(?:no|')?t|can’t) do that\b",
            re.I,
        ),
    ),
    # Spanish, Portuguese, Italian
    (
        0.9,
        re.compile(
            r"\bno (?:puedo|podré|puedo ayudarte|puedo proporcionar)\s(?:ayudar|ayudarte|"
            r"ayudarle|proporcionar|hacer|cumplir|responder|con eso)|\b(?:lo siento|lo lamento|"
            r"disculpa)\b[^.!?\n]{0,40}\bno puedo\b|\bnão (?:posso|consigo) (?:ajudar|fornecer|"
            r"fazer|responder)|\b(?:desculpe|sinto muito|lamento)\b[^.!?\n]{0,40}\bnão "
            r"(?:posso|consigo)\b|\bnon posso (?:aiutar|fornir|rispondere|fare)|\bmi dispiace\b"
            r"[^.!?\n]{0,40}\bnon posso\b",
            re.I,
        ),
    ),
    # French, German
    (
        0.9,
        re.compile(
            r"\bje ne (?:peux|pourrai|suis pas en mesure de) (?:pas )?(?:vous aider|t'aider|"
            r"aider|fournir|répondre|faire)|\bdésolée?\b[^.!?\n]{0,40}\bje ne (?:peux|pourrai)"
            r" pas\b|\b(?:kann|werde) ich (?:ihnen |dir )?(?:dabei |damit |hierbei )?"
            r"(?:leider )?nicht helfen|\bich kann (?:ihnen |dir )?(?:dabei |damit |hierbei )?"
            r"(?:leider )?nicht (?:helfen|beantworten|erstellen|bereitstellen)|\bes tut mir "
            r"leid\b[^.!?\n]{0,40}\b(?:ich kann|kann ich)\b",
            re.I,
        ),
    ),
    # Russian, Chinese, Japanese
    (
        0.9,
        re.compile(
            r"я не (?:могу|смогу) (?:помочь|предоставить|выполнить|ответить|сделать)|"
            r"(?:извините|простите|к сожалению)[^.!?\n]{0,40}не (?:могу|смогу)|"
            r"我(?:无法|不能|没办法)(?:帮|提供|协助|满足|回答|完成)|(?:抱歉|对不起)[^。！？\n]{0,20}"
            r"(?:无法|不能)|(?:申し訳|すみません)[^。！？\n]{0,40}(?:できません|お応えできません|"
            r"お答えできません)|お手伝いできません",
            re.I,
        ),
    ),
]
# Stock phrases that look like refusals and are not.
_NOT_REFUSAL = re.compile(
    r"\bi\s?(?:can(?:no|')?t|can’t) (?:help but|wait|stress|believe|thank|recommend .{0,20}"
    r"enough|promise)\b",
    re.I,
)


class RefusalConfig(GuardConfig):
    action: Action = "log"  # a refusal is a metric, not a threat
    threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    max_chars: int = Field(default=3000, ge=100, le=1_000_000)


class RefusalGuard(LocalGuard):
    name: ClassVar[str] = "refusal"
    Config: ClassVar[type[GuardConfig]] = RefusalConfig
    stages: ClassVar[frozenset[str]] = frozenset({"output"})
    description: ClassVar[str] = (
        'Answers that decline the request ("I can\'t help with that"), in several languages.'
    )
    categories: ClassVar[tuple[str, ...]] = ("refusal",)
    needs_context: ClassVar[bool] = False
    supports_redaction: ClassVar[bool] = False

    async def check(self, item: GuardInput) -> list[Finding]:
        head = item.text[: self.config.max_chars]  # type: ignore[attr-defined]
        spans: list[tuple[int, int]] = []
        score = 0.0
        for weight, pattern in _PATTERNS:
            for match in pattern.finditer(head):
                if _NOT_REFUSAL.match(head, match.start()):
                    continue
                spans.append(match.span())
                score = max(score, weight * (1.0 if match.start() < EARLY_CHARS else LATE_FACTOR))
        if not spans:
            return []
        spans.sort()
        return [Finding("refusal", score, "the answer declines the request", tuple(spans))]
