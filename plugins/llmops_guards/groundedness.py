"""Groundedness: which sentences of an answer the retrieved passages do not support.

The scoring runs on Triton (model `groundedness`, trained by
guard-models/train_groundedness.py): every answer sentence, short answers included, is
judged on support features (its words, names and numbers found in the passages, in one
passage sentence, in word pairs), with the question's words removed first so that
restating the question earns no support. Sentences are split so that "96.3 Rock Radio",
"3.5 million", "Dr.", "U.S." and initials stay whole.

Findings: one `ungrounded` finding per answer sentence, scored with its probability of
being unsupported, its span in the answer; the policy's threshold picks the ones that
count. With no passages at all nothing can support the answer: one finding over the
whole answer with score 1.0 says so (a policy that checks answers without retrieval
should leave this check out). The model judges the first 20,000 characters of an answer
and 100,000 characters of passages (a size-limit check bounds answers before this).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from llmops_core import Finding, GuardInput, Health, PluginContext
from llmops_guards._base import Action, GuardConfig
from llmops_guards._groundedness_model import MODEL_NAME, GroundednessClient

CATEGORY = "ungrounded"


class GroundednessConfig(GuardConfig):
    action: Action = "flag"
    # The operating point chosen on the training rows (accuracy over all answer shapes),
    # recorded in guard-models/artifacts/groundedness.json.
    threshold: float = Field(default=0.23, ge=0.0, le=1.0)
    endpoints: list[str] | None = None  # default: triton.endpoints
    model: str = MODEL_NAME


class GroundednessGuard:
    name: ClassVar[str] = "groundedness"
    Config: ClassVar[type[GuardConfig]] = GroundednessConfig
    stages: ClassVar[frozenset[str]] = frozenset({"output"})
    categories: ClassVar[tuple[str, ...]] = (CATEGORY,)
    needs_context: ClassVar[bool] = True
    description: ClassVar[str] = (
        "Answer sentences the retrieved passages do not support (trained support scorer on "
        "Triton; question words never count as support)."
    )

    def __init__(self, config: GroundednessConfig, context: PluginContext) -> None:
        self.config = config
        endpoints = config.endpoints or context.settings.triton.endpoints
        self.client = GroundednessClient(endpoints, config.model)

    async def check(self, item: GuardInput) -> list[Finding]:
        if not item.text.strip():
            return []
        passages = [p for p in item.context if p.strip()]
        if not passages:
            return [
                Finding(
                    CATEGORY,
                    1.0,
                    "no retrieved context to check the answer against",
                    ((0, len(item.text)),),
                )
            ]
        support = await self.client.support(item.text, passages, item.question)
        return [
            Finding(
                CATEGORY,
                round(s.score, 4),
                f"sentence {i + 1}: probability {s.score:.2f} that the retrieved context "
                "does not support it",
                ((s.start, s.end),),
            )
            for i, s in enumerate(support.sentences)
        ]

    async def health(self) -> Health:
        try:
            ready = await self.client.ready()
        except Exception as exc:  # noqa: BLE001 - any failure means not healthy
            return Health(False, str(exc))
        return Health(ready, f"groundedness model {self.client.model}")

    async def close(self) -> None:
        await self.client.close()
