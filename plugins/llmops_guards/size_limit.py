"""Rejects text longer than a limit, before any costlier check or model sees it."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from llmops_core import Finding, GuardInput
from llmops_guards._base import GuardConfig, LocalGuard


class SizeLimitConfig(GuardConfig):
    max_chars: int = Field(default=4000, ge=1)


class SizeLimitGuard(LocalGuard):
    name: ClassVar[str] = "size-limit"
    Config: ClassVar[type[GuardConfig]] = SizeLimitConfig
    stages: ClassVar[frozenset[str]] = frozenset({"input", "output"})
    description: ClassVar[str] = "Text longer than max_chars characters."

    async def check(self, item: GuardInput) -> list[Finding]:
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
