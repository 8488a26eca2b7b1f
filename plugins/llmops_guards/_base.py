"""What every built-in guard shares: the policy knobs in its config and a trivial health."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from llmops_core import Health, PluginContext

Action = Literal["allow", "log", "flag", "redact", "block"]


class GuardConfig(BaseModel):
    """Policy of one check: findings scoring at least ``threshold`` trigger ``action``."""

    model_config = ConfigDict(extra="forbid")
    action: Action = "block"
    threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    fail_open: bool = False  # if the check itself fails: False blocks, True lets the text pass


class LocalGuard:
    """A guard that runs in-process with no external dependency."""

    def __init__(self, config: GuardConfig, context: PluginContext) -> None:
        self.config = config

    async def health(self) -> Health:
        return Health(True)

    async def close(self) -> None:
        return None
