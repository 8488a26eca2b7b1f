"""Toxicity and harm, identity bias included, scored by the trained `harm_*` heads on Triton.

The heads (guard-models/train_harm.py; card: guard-models/artifacts/harm.md) read the
static MiniLM-derived embedding and hashed character n-grams of a text, one logistic
regression per category: toxicity, insult, threat, sexual content, and identity bias
(attacks, slurs and stereotypes about people by race, religion, gender and other
identities). Each probability is calibrated so that 0.5 is the operating point picked on
validation data; the card has the held-out figures.

The whole text is scored through the `guard` call shared with the other model-based
checks of the request. A text longer than ``whole_words`` words is also scored per
window of whole sentences, all windows in one batched call (shared with banned-topics), so
that one hateful sentence in a long harmless answer is judged on its own instead of
diluted; a category's score is the highest of the whole text and its windows, and its
span is where that score was.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Sequence
from typing import ClassVar

from pydantic import Field, field_validator

from llmops_core import Finding, GuardInput, Health, PluginContext
from llmops_guards._base import GuardConfig
from llmops_guards._models import GUARD_MODEL, GuardModelClient, shared_analyses
from llmops_guards.topics import windows
from llmops_triton._endpoints import TritonEndpoints

CATEGORIES: tuple[str, ...] = ("toxicity", "insult", "threat", "sexual", "identity_bias")
_LABELS = {
    "toxicity": "toxic language",
    "insult": "insult",
    "threat": "threat of harm",
    "sexual": "sexual content",
    "identity_bias": "identity-based attack or stereotype",
}
_WORD = re.compile(r"\S+")


class HarmConfig(GuardConfig):
    threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    categories: list[str] = Field(default_factory=lambda: list(CATEGORIES))
    # A text of at most whole_words words is judged whole; a longer one also per window of
    # window_words (the banned-topics defaults, so that both share one model call). Windows
    # stay short: one hateful sentence in 32 words of ordinary text already scores low.
    whole_words: int = Field(default=64, ge=1, le=4096)
    window_words: int = Field(default=20, ge=8, le=512)
    max_windows: int = Field(default=32, ge=1, le=128)
    endpoints: list[str] | None = None  # default: triton.endpoints
    model: str = GUARD_MODEL

    @field_validator("categories")
    @classmethod
    def _known(cls, categories: list[str]) -> list[str]:
        names = [c.removeprefix("harm.") for c in categories]
        unknown = sorted(set(names) - set(CATEGORIES))
        if unknown:
            raise ValueError(f"unknown harm categories {unknown}; known: {', '.join(CATEGORIES)}")
        if not names:
            raise ValueError("categories must name at least one harm category")
        return list(dict.fromkeys(names))


class HarmGuard:
    name: ClassVar[str] = "harm"
    Config: ClassVar[type[GuardConfig]] = HarmConfig
    stages: ClassVar[frozenset[str]] = frozenset({"input", "output"})
    categories: ClassVar[tuple[str, ...]] = tuple(f"harm.{c}" for c in CATEGORIES)
    description: ClassVar[str] = (
        "Toxicity, insults, threats, sexual content and identity-based attacks or "
        "stereotypes: trained heads on Triton's `guard` model."
    )
    needs_context: ClassVar[bool] = False
    supports_redaction: ClassVar[bool] = False

    def __init__(self, config: HarmConfig, context: PluginContext) -> None:
        self.config = config
        self.client = GuardModelClient(
            TritonEndpoints(config.endpoints or context.settings.triton.endpoints), config.model
        )

    async def check(self, item: GuardInput) -> list[Finding]:
        if not item.text.strip():
            return []
        client = self.client
        whole = item.shared.once(
            ("guard-model", client.key, item.text), lambda: client.analyze(item.text)
        )
        parts = self._windows(item.text)
        if len(parts) <= 1:
            scored, spans = [(await whole).scores], [(0, len(item.text))]
        else:
            # The windows go to the model while the whole text's shared pass is in flight.
            first, analyses = await asyncio.gather(whole, shared_analyses(item, client, parts))
            scored = [first.scores, *(a.scores for a in analyses)]
            spans = [(0, len(item.text)), *parts]
        return [self._finding(category, scored, spans) for category in self.config.categories]

    def _windows(self, text: str) -> list[tuple[int, int]]:
        """At most ``max_windows`` sentence windows; wider ones for a longer text."""
        words = len(_WORD.findall(text))
        if words <= self.config.whole_words:
            return []
        width = max(self.config.window_words, math.ceil(words / self.config.max_windows))
        spans = windows(text, width)
        while len(spans) > self.config.max_windows:
            width *= 2
            spans = windows(text, width)
        return spans

    def _finding(
        self, category: str, scored: Sequence[dict[str, float]], spans: Sequence[tuple[int, int]]
    ) -> Finding:
        head = f"harm_{category}"
        if head not in scored[0]:
            raise RuntimeError(
                f"Triton model {self.client.model!r} has no {head!r} output "
                f"(it has {', '.join(sorted(scored[0])) or 'none'}): train guard-models/"
                "train_harm.py and restart the model server"
            )
        best = max(range(len(scored)), key=lambda i: scored[i][head])
        score = scored[best][head]
        return Finding(
            f"harm.{category}",
            round(score, 4),
            f"{_LABELS[category]}, probability {score:.2f}",
            (spans[best],),
        )

    async def health(self) -> Health:
        try:
            heads = await self.client.heads()
        except Exception as exc:  # noqa: BLE001 - health reports any failure
            return Health(False, str(exc))
        missing = [f"harm_{c}" for c in self.config.categories if f"harm_{c}" not in heads]
        if missing:
            return Health(False, f"model {self.client.model} lacks {', '.join(missing)}")
        return Health(True, f"model {self.client.model}")

    async def close(self) -> None:
        await self.client.endpoints.close()
