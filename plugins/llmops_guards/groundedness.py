"""Groundedness: which sentences of an answer the retrieved context does not support.

A sentence is supported when enough of its content words (lowercased, stop words
and citation marks removed, simple plural folding) occur in the context. Lexical
support is a cheap first line that catches invented names, numbers and claims
from outside the passages; an NLI or LLM judge can replace it as another plugin.
The score is the share of the answer's content words that sit in unsupported sentences.
"""

from __future__ import annotations

import re
from typing import ClassVar

from pydantic import Field

from llmops_core import Finding, GuardInput
from llmops_guards._base import Action, GuardConfig, LocalGuard

_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|$)")
_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
_CITATION = re.compile(r"\[\d+(?:\s*,\s*\d+)*\]")
_STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "then",
        "else",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "there",
        "here",
        "they",
        "them",
        "their",
        "we",
        "our",
        "you",
        "your",
        "he",
        "she",
        "his",
        "her",
        "i",
        "me",
        "my",
        "do",
        "does",
        "did",
        "done",
        "not",
        "no",
        "yes",
        "can",
        "could",
        "should",
        "would",
        "will",
        "may",
        "might",
        "must",
        "shall",
        "so",
        "such",
        "than",
        "too",
        "very",
        "also",
        "just",
        "only",
        "into",
        "onto",
        "over",
        "under",
        "about",
        "above",
        "below",
        "up",
        "down",
        "out",
        "off",
        "again",
        "more",
        "most",
        "some",
        "any",
        "each",
        "all",
        "both",
        "few",
        "other",
        "own",
        "same",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "has",
        "have",
        "had",
        "having",
        "one",
        "two",
        "use",
        "used",
        "using",
        "based",
        "like",
        "well",
        "many",
        "much",
        "make",
        "makes",
        "made",
        "get",
        "gets",
    ]
)


class GroundednessConfig(GuardConfig):
    action: Action = "flag"
    threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    min_support: float = Field(default=0.5, ge=0.0, le=1.0)  # share of a sentence's words found
    min_words: int = Field(default=3, ge=1)  # shorter sentences carry too little to judge


class GroundednessGuard(LocalGuard):
    name: ClassVar[str] = "groundedness"
    Config: ClassVar[type[GuardConfig]] = GroundednessConfig
    stages: ClassVar[frozenset[str]] = frozenset({"output"})
    description: ClassVar[str] = "Answer sentences not supported by the retrieved context."

    async def check(self, item: GuardInput) -> list[Finding]:
        context_words = set(_content_words(" ".join(item.context))) | set(
            _content_words(item.question)
        )
        unsupported: list[tuple[int, int]] = []
        judged_words = unsupported_words = 0
        for match in _SENTENCE.finditer(item.text):
            words = _content_words(match.group())
            if len(words) < self.config.min_words:
                continue
            judged_words += len(words)
            support = sum(w in context_words for w in words) / len(words)
            if support < self.config.min_support:
                unsupported.append(match.span())
                unsupported_words += len(words)
        if not unsupported:
            return []
        score = round(unsupported_words / judged_words, 4)
        return [
            Finding(
                "ungrounded",
                score,
                f"{len(unsupported)} sentence(s) not supported by the retrieved context",
                tuple(unsupported),
            )
        ]


def _content_words(text: str) -> list[str]:
    text = _CITATION.sub(" ", text.lower())
    return [_fold(w) for w in _WORD.findall(text) if w not in _STOP_WORDS and len(w) > 1]


def _fold(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word
