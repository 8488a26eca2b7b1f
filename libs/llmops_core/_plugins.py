"""Finding, choosing and building plugins.

Plugins come from two places: the built-ins shipped in this repository (a static
table, so they work without being pip-installed) and third-party distributions that
declare an entry point in the group ``llmops.<kind>``. Config selects one by name;
a name that matches nothing is an error that lists what is installed.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from pydantic import ValidationError

from llmops_core._config import PluginRef, Settings
from llmops_core.errors import ConfigError, PluginError, PluginNotFoundError

# kind -> entry-point group suffix. The group is ``llmops.<suffix>``.
KINDS: dict[str, str] = {
    "prompt_store": "prompt_stores",
    "vector_store": "vector_stores",
    "embedder": "embedders",
    "guard": "guards",
    "detector": "detectors",
    "event_sink": "event_sinks",
    "inference_backend": "inference_backends",
    "stage": "stages",
}

BUILTIN_PLUGINS: dict[str, dict[str, str]] = {
    "prompt_store": {"redis": "llmops_redis.prompt_store:RedisPromptStore"},
    "vector_store": {"embedded": "llmops_embedded_store.store:EmbeddedVectorStore"},
    "embedder": {"triton": "llmops_triton.embedder:TritonEmbedder"},
    "guard": {
        "size-limit": "llmops_guards.size_limit:SizeLimitGuard",
        "token-limit": "llmops_guards.size_limit:TokenLimitGuard",
        "prompt-injection": "llmops_guards.injection:PromptInjectionGuard",
        "pii": "llmops_guards.pii:PiiGuard",
        "secrets": "llmops_guards.secrets:SecretsGuard",
        "smuggling": "llmops_guards.smuggling:SmugglingGuard",
        "harm": "llmops_guards.harm:HarmGuard",
        "banned-topics": "llmops_guards.topics:BannedTopicsGuard",
        "banned-phrases": "llmops_guards.phrases:BannedPhrasesGuard",
        "groundedness": "llmops_guards.groundedness:GroundednessGuard",
        "system-prompt-leak": "llmops_guards.leakage:SystemPromptLeakGuard",
        "refusal": "llmops_guards.refusal:RefusalGuard",
        "json-schema": "llmops_guards.json_schema:JsonSchemaGuard",
    },
    "detector": {},
    "event_sink": {"redis-stream": "llmops_redis.event_sink:RedisStreamSink"},
    "inference_backend": {"triton": "llmops_triton.backend:TritonBackend"},
    "stage": {},
}


@dataclass(frozen=True)
class PluginContext:
    """What a plugin may use besides its own config: the shared settings (Redis URL, Triton, data dir)."""

    settings: Settings


@dataclass(frozen=True)
class PluginSource:
    """Where a registered plugin comes from: ``builtin`` or the distribution that declared it."""

    kind: str
    name: str
    target: str
    origin: str


class PluginRegistry:
    """All plugins known to this process, by kind and name."""

    def __init__(
        self,
        builtins: dict[str, dict[str, str]] | None = None,
        *,
        load_entry_points: bool = True,
    ) -> None:
        self._sources: dict[str, dict[str, PluginSource]] = {kind: {} for kind in KINDS}
        for kind, plugins in (BUILTIN_PLUGINS if builtins is None else builtins).items():
            for name, target in plugins.items():
                self.register(kind, name, target, origin="builtin")
        if load_entry_points:
            self._load_entry_points()

    def register(self, kind: str, name: str, target: str, *, origin: str = "runtime") -> None:
        """Make ``target`` ("module:attribute") available as plugin ``name`` of ``kind``."""
        self._check_kind(kind)
        self._sources[kind][name] = PluginSource(kind, name, target, origin)

    def available(self, kind: str) -> dict[str, PluginSource]:
        self._check_kind(kind)
        return dict(sorted(self._sources[kind].items()))

    def load_class(self, kind: str, name: str) -> type:
        source = self._sources[self._check_kind(kind)].get(name)
        if source is None:
            installed = ", ".join(self.available(kind)) or "none"
            raise PluginNotFoundError(
                f"no {kind} plugin named '{name}'; installed: {installed}. A third-party plugin "
                f"registers itself under the entry-point group 'llmops.{KINDS[kind]}' of its package.",
                kind=kind,
                plugin=name,
            )
        module_name, _, attribute = source.target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise PluginError(
                f"{kind} plugin '{name}' ({source.origin}) cannot be imported: {exc}. "
                f"Install the package that provides '{module_name}'.",
                kind=kind,
                plugin=name,
            ) from exc
        try:
            return getattr(module, attribute)
        except AttributeError as exc:
            raise PluginError(
                f"{kind} plugin '{name}': module '{module_name}' has no attribute '{attribute}'",
                kind=kind,
                plugin=name,
            ) from exc

    def create(self, kind: str, ref: PluginRef, context: PluginContext, *, key: str = "") -> Any:
        """Build plugin ``ref.plugin`` with ``ref.config`` validated against its ``Config`` model.

        ``key`` is where the reference sits in the settings (``guardrails.input_guards.1``),
        so that a bad plugin config names the exact place to fix.
        """
        cls = self.load_class(kind, ref.plugin)
        config_model = getattr(cls, "Config", None)
        try:
            config = config_model.model_validate(ref.config) if config_model else None
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
            )
            where = f"{key}.config" if key else f"{kind} '{ref.plugin}' config"
            raise ConfigError(f"invalid {where}: {problems}") from exc
        return cls(config, context)

    def describe(self) -> dict[str, list[str]]:
        """What is installed, for logs and ``llmops status``: kind -> ["name (origin)"]."""
        return {
            kind: [f"{s.name} ({s.origin})" for s in self.available(kind).values()]
            for kind in KINDS
        }

    def _load_entry_points(self) -> None:
        for kind, suffix in KINDS.items():
            for entry_point in metadata.entry_points(group=f"llmops.{suffix}"):
                origin = entry_point.dist.name if entry_point.dist else "entry-point"
                self.register(kind, entry_point.name, entry_point.value, origin=origin)

    @staticmethod
    def _check_kind(kind: str) -> str:
        if kind not in KINDS:
            raise PluginError(
                f"unknown plugin kind '{kind}'; kinds are: {', '.join(KINDS)}",
                kind=kind,
                plugin="",
            )
        return kind
