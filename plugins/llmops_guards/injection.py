"""Prompt injection and jailbreaks, scored by the trained `injection` head on Triton.

The head (guard-models/train_injection.py; card: guard-models/artifacts/injection.md)
reads the static MiniLM-derived embedding and hashed n-grams of the whole text, so it
covers overrides, system-prompt extraction, role-play jailbreaks, several languages and
instructions planted in e-mails or documents. Its probability is calibrated so that 0.5
is the operating point picked on held-out data (FPR 0.02 on validation).

The `guard` model call is shared with the other model-based input checks of the request
(one feature pass per text).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from llmops_core import Finding, GuardInput, Health, PluginContext
from llmops_guards._base import GuardConfig
from llmops_guards._models import GUARD_MODEL, GuardModelClient
from llmops_triton._endpoints import TritonEndpoints

CATEGORY = "injection"
HEAD = "injection"


class PromptInjectionConfig(GuardConfig):
    threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    endpoints: list[str] | None = None  # default: triton.endpoints
    model: str = GUARD_MODEL


class PromptInjectionGuard:
    name: ClassVar[str] = "prompt-injection"
    Config: ClassVar[type[GuardConfig]] = PromptInjectionConfig
    stages: ClassVar[frozenset[str]] = frozenset({"input"})
    categories: ClassVar[tuple[str, ...]] = (CATEGORY,)
    description: ClassVar[str] = (
        "Prompt injection and jailbreaks (overrides, system-prompt extraction, role-play, "
        "multilingual, planted in documents): a trained head on Triton's `guard` model."
    )

    def __init__(self, config: PromptInjectionConfig, context: PluginContext) -> None:
        self.config = config
        self.client = GuardModelClient(
            TritonEndpoints(config.endpoints or context.settings.triton.endpoints), config.model
        )

    async def check(self, item: GuardInput) -> list[Finding]:
        if not item.text:
            return []
        client = self.client
        analysis = await item.shared.once(
            ("guard-model", client.key, item.text), lambda: client.analyze(item.text)
        )
        score = analysis.scores.get(HEAD)
        if score is None:
            raise RuntimeError(
                f"Triton model {client.model!r} has no {HEAD!r} output "
                f"(it has {', '.join(sorted(analysis.scores)) or 'none'})"
            )
        return [
            Finding(
                CATEGORY,
                round(score, 4),
                f"prompt injection or jailbreak, probability {score:.2f}",
                ((0, len(item.text)),),
            )
        ]

    async def health(self) -> Health:
        try:
            heads = await self.client.heads()
        except Exception as exc:  # noqa: BLE001 - health reports any failure
            return Health(False, str(exc))
        if HEAD not in heads:
            return Health(False, f"model {self.client.model} has no {HEAD!r} head")
        return Health(True, f"model {self.client.model}")

    async def close(self) -> None:
        await self.client.endpoints.close()
