"""The checks this service can run: every guard plugin installed, built per distinct options.

A policy names a check and gives it options; options are the plugin's own pydantic
``Config`` fields, so a policy is validated by the same model that configures the check.
Policy versions are immutable, so one instance per (check, options) is built on first
use and kept.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from guardrails.policy import ACTIONS, FAILURE_MODES, CheckSettings
from llmops_core import Guard, PluginContext, PluginRef, PluginRegistry
from llmops_core.errors import ConfigError, InvalidArgumentError, PluginError


@dataclass(frozen=True)
class CheckInfo:
    """What ListChecks says of one check at one stage."""

    name: str
    stage: str
    description: str
    categories: tuple[str, ...]
    origin: str
    supports_redaction: bool
    default_threshold: float
    default_action: str
    needs_context: bool


class CheckCatalog:
    def __init__(self, plugins: PluginRegistry, context: PluginContext) -> None:
        self._plugins = plugins
        self._context = context
        self._instances: dict[tuple[str, str], Guard] = {}

    def names(self) -> list[str]:
        return list(self._plugins.available("guard"))

    def info(self) -> list[CheckInfo]:
        """Every installed check, once per stage it runs at, by name."""
        found = []
        for name, source in self._plugins.available("guard").items():
            try:
                cls = self._plugins.load_class("guard", name)
            except PluginError:
                continue  # a plugin that cannot import is reported by health, not listed
            defaults = cls.Config() if getattr(cls, "Config", None) else None
            for stage in sorted(cls.stages):
                found.append(
                    CheckInfo(
                        name=name,
                        stage=stage,
                        description=cls.description,
                        categories=tuple(getattr(cls, "categories", ())),
                        origin=source.origin,
                        supports_redaction=bool(getattr(cls, "supports_redaction", False)),
                        default_threshold=float(getattr(defaults, "threshold", 0.5)),
                        default_action=str(getattr(defaults, "action", "block")),
                        needs_context=bool(getattr(cls, "needs_context", False)),
                    )
                )
        return found

    def validate(self, settings: CheckSettings, stage: str, where: str) -> None:
        """Raises InvalidArgumentError naming ``where`` when the settings cannot run."""
        names = self.names()
        if settings.check not in names:
            raise InvalidArgumentError(
                f"{where}: unknown check '{settings.check}'; installed checks: {', '.join(names)}",
                reason="UNKNOWN_CHECK",
            )
        cls = self._plugins.load_class("guard", settings.check)
        if stage not in cls.stages:
            raise InvalidArgumentError(
                f"{where}: check '{settings.check}' runs at {' and '.join(sorted(cls.stages))}, "
                f"not at {stage}",
                reason="WRONG_STAGE",
            )
        if settings.threshold is not None and not 0.0 <= settings.threshold <= 1.0:
            raise InvalidArgumentError(
                f"{where}: threshold {settings.threshold} is outside [0, 1]", reason="OUT_OF_RANGE"
            )
        for action in [settings.action, *settings.category_actions.values()]:
            if action is not None and action not in ACTIONS:
                raise InvalidArgumentError(
                    f"{where}: unknown action '{action}'; actions: {', '.join(ACTIONS)}",
                    reason="UNKNOWN_ACTION",
                )
        if settings.failure_mode is not None and settings.failure_mode not in FAILURE_MODES:
            raise InvalidArgumentError(
                f"{where}: unknown failure mode '{settings.failure_mode}'; use open or closed",
                reason="UNKNOWN_FAILURE_MODE",
            )
        if settings.timeout_ms is not None and settings.timeout_ms <= 0:
            raise InvalidArgumentError(
                f"{where}: timeout_ms must be positive", reason="OUT_OF_RANGE"
            )
        try:
            config_model = cls.Config
            config_model.model_validate(dict(settings.options))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'options'}: {err['msg']}"
                for err in exc.errors()
            )
            raise InvalidArgumentError(
                f"{where}: invalid options for '{settings.check}': {problems}",
                reason="INVALID_OPTIONS",
            ) from exc

    def instance(self, check: str, options: Mapping[str, Any]) -> Guard:
        key = (check, json.dumps(options, sort_keys=True, default=str))
        guard = self._instances.get(key)
        if guard is None:
            try:
                guard = self._plugins.create(
                    "guard", PluginRef(plugin=check, config=dict(options)), self._context
                )
            except ConfigError as exc:
                raise InvalidArgumentError(str(exc), reason="INVALID_OPTIONS") from exc
            self._instances[key] = guard
        return guard

    def instances(self) -> list[Guard]:
        return list(self._instances.values())

    async def close(self) -> None:
        for guard in self._instances.values():
            await guard.close()
        self._instances.clear()
