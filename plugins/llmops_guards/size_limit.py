"""Rejects text longer than a limit, before any costlier check or model sees it.

``size-limit`` counts characters. ``token-limit`` counts tokens as the MiniLM (BERT uncased
WordPiece) tokenizer would, estimated from the text's pieces instead of running the tokenizer:
the services carry no tokenizer and its vocabulary, and the estimate is within about 10 % of the
real count on nine texts in ten, at under a third of the tokenizer's cost
(guard-models/eval_token_estimate.py measures it).
"""

from __future__ import annotations

import re
import unicodedata
from typing import ClassVar

from pydantic import Field

from llmops_core import Finding, GuardInput
from llmops_guards._base import GuardConfig, LocalGuard

# Runs of Latin letters, of digits, of other letters, or one symbol; each piece is read once.
_PIECE = re.compile(r"[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f]+|[0-9]+|[^\W\d_]+|[^\s\w]|_")


def estimate_tokens(text: str) -> int:
    """About how many WordPiece tokens ``text`` is (without [CLS]/[SEP])."""
    return sum(_piece_tokens(m.group()) for m in _PIECE.finditer(text))


def _piece_tokens(piece: str) -> int:
    if piece.isascii():
        if piece.isdigit():
            return (len(piece) + 1) // 2
        # Short words are whole vocabulary entries; longer ones split in pieces of ~3 letters.
        return 1 + max(0, len(piece) - 5) // 3 if piece.isalpha() else 1
    if all(c < "\u0250" for c in piece):  # accented Latin: BERT uncased strips the accents
        return _piece_tokens("a" * len(piece))
    # The vocabulary has few whole words in other scripts: about one token per letter, with
    # combining marks (vowel signs) stripped as accents are.
    return sum(unicodedata.category(c) != "Mn" for c in piece)


class SizeLimitConfig(GuardConfig):
    max_chars: int = Field(default=4000, ge=1)


class SizeLimitGuard(LocalGuard):
    name: ClassVar[str] = "size-limit"
    Config: ClassVar[type[GuardConfig]] = SizeLimitConfig
    stages: ClassVar[frozenset[str]] = frozenset({"input", "output"})
    description: ClassVar[str] = "Text longer than max_chars characters."
    categories: ClassVar[tuple[str, ...]] = ("size",)

    async def check(self, item: GuardInput) -> list[Finding]:
        assert isinstance(self.config, SizeLimitConfig)
        limit = self.config.max_chars
        if len(item.text) <= limit:
            return []
        return [
            Finding(
                "size",
                1.0,
                f"{len(item.text)} characters; the limit is {limit}",
                ((limit, len(item.text)),),
            )
        ]


class TokenLimitConfig(GuardConfig):
    max_tokens: int = Field(default=1024, ge=1)


class TokenLimitGuard(LocalGuard):
    name: ClassVar[str] = "token-limit"
    Config: ClassVar[type[GuardConfig]] = TokenLimitConfig
    stages: ClassVar[frozenset[str]] = frozenset({"input", "output"})
    description: ClassVar[str] = "Text longer than max_tokens tokens (estimated WordPiece count)."
    categories: ClassVar[tuple[str, ...]] = ("size.tokens",)

    async def check(self, item: GuardInput) -> list[Finding]:
        assert isinstance(self.config, TokenLimitConfig)
        limit = self.config.max_tokens
        count = 0
        for m in _PIECE.finditer(item.text):
            count += _piece_tokens(m.group())
            if count > limit:  # the span starts at the first piece past the limit
                return [
                    Finding(
                        "size.tokens",
                        1.0,
                        f"{estimate_tokens(item.text)} tokens (estimated); the limit is {limit}",
                        ((m.start(), len(item.text)),),
                    )
                ]
        return []
