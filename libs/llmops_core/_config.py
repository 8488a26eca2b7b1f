"""Platform configuration: one YAML file plus ``LLMOPS_`` environment overrides.

``LLMOPS_GATEWAY__PORT=6000`` overrides ``gateway.port`` (double underscore = one
level down; values are parsed as YAML, so ``8``, ``true`` and ``[a, b]`` work).
Every model forbids unknown keys, so a typo is an error that names the key
instead of a setting silently ignored.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from llmops_core.errors import ConfigError

ENV_PREFIX = "LLMOPS_"
CONFIG_PATH_ENV = "LLMOPS_CONFIG"
# Variables with the prefix that are not config keys: where things are, and test wiring.
_NOT_CONFIG = {"LLMOPS_CONFIG", "LLMOPS_HOME", "LLMOPS_MODELS_PYTHON"}
_NOT_CONFIG_PREFIXES = ("LLMOPS_TEST_",)


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PluginRef(StrictModel):
    """Which plugin serves an extension point, and its own settings."""

    plugin: str
    config: dict[str, Any] = Field(default_factory=dict)


class ServerSettings(StrictModel):
    """What every gRPC server shares."""

    host: str = "127.0.0.1"
    port: int = Field(ge=0, le=65535)
    max_message_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    shutdown_grace_seconds: float = Field(default=5.0, ge=0)
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    # Processes serving the same port (SO_REUSEPORT): a Python gRPC server uses one core
    # per process, so CPU-bound services scale across cores with workers > 1.
    workers: int = Field(default=1, ge=1, le=64)

    @model_validator(mode="after")
    def _workers_need_a_fixed_port(self):
        if self.workers > 1 and self.port == 0:
            raise ValueError("workers > 1 needs a fixed port (each worker binds the same one)")
        return self

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


class RedisSettings(StrictModel):
    url: str = "redis://127.0.0.1:6379/0"


class TritonSettings(StrictModel):
    """The Triton endpoints (gRPC) that model plugins call unless their config says otherwise."""

    endpoints: list[str] = Field(default_factory=lambda: ["127.0.0.1:8001"], min_length=1)
    llm_model: str = "ensemble"
    embedding_model: str = "minilm"
    # Ports of the local model server's other listeners (``llmops up`` starts it on the
    # first endpoint's gRPC port).
    local_http_port: int = Field(default=8000, ge=1, le=65535)
    local_metrics_port: int = Field(default=8002, ge=1, le=65535)


class PromptRegistrySettings(ServerSettings):
    port: int = Field(default=50052, ge=0, le=65535)
    store: PluginRef = PluginRef(plugin="redis")


class RetrievalSettings(ServerSettings):
    port: int = Field(default=50053, ge=0, le=65535)
    store: PluginRef = PluginRef(plugin="embedded")
    embedder: PluginRef = PluginRef(plugin="triton")
    max_documents_per_request: int = Field(default=256, ge=1)
    max_document_chars: int = Field(default=200_000, ge=1)


class GuardrailsSettings(ServerSettings):
    port: int = Field(default=50054, ge=0, le=65535)
    # The checks of the default policy (see default_policy), each with its plugin config.
    input_guards: list[PluginRef] = Field(
        default_factory=lambda: [
            PluginRef(plugin=name)
            for name in (
                "size-limit",
                "prompt-injection",
                "token-limit",
                "pii",
                "secrets",
                "smuggling",
                "harm",
            )
        ]
    )
    output_guards: list[PluginRef] = Field(
        default_factory=lambda: [
            PluginRef(plugin=name)
            for name in ("groundedness", "pii", "secrets", "harm", "system-prompt-leak", "refusal")
        ]
    )
    # The policy requests without a policy name run under; made at first start-up from the
    # guard lists above when no policy of that name exists, then changed by pushing versions.
    default_policy: str = "default"


class MonitoringSettings(ServerSettings):
    port: int = Field(default=50055, ge=0, le=65535)
    sink: PluginRef = PluginRef(plugin="redis-stream")


class InferenceSettings(ServerSettings):
    port: int = Field(default=50056, ge=0, le=65535)
    backend: PluginRef = PluginRef(plugin="triton")
    default_model: str = "smollm2-135m"
    chat_template: str = "chatml"
    max_prompt_chars: int = Field(default=32_000, ge=1)
    max_tokens_limit: int = Field(default=2048, ge=1)
    # Generations one worker process runs at once; beyond it calls are refused with
    # RESOURCE_EXHAUSTED (shed load early rather than queue past deadlines). 0: no limit.
    max_concurrent_generations: int = Field(default=0, ge=0)


class GatewaySettings(ServerSettings):
    port: int = Field(default=50051, ge=0, le=65535)
    default_prompt: str = "rag-answer"
    default_label: str = "production"
    default_collection: str = "docs"
    default_policy: str = "default"
    top_k: int = Field(default=3, ge=1, le=50)
    max_message_chars: int = Field(default=8_000, ge=1)
    prompt_cache_ttl_seconds: float = Field(default=30.0, ge=0)
    # Prompt files (prompts-as-code YAML) served when the registry is unreachable and
    # nothing is cached; relative paths are relative to the gateway's working directory.
    fallback_prompts: list[Path] = Field(default_factory=list)


class Settings(StrictModel):
    """Everything one deployment of llmops is configured with."""

    # Relative paths are relative to the working directory of the service (``llmops up``
    # starts services in the repository root).
    data_dir: Path = Path(".llmops/data")
    # Pid files and logs of what ``llmops up`` starts; relative to the repository root.
    state_dir: Path = Path(".llmops")
    log_level: str = "INFO"
    redis: RedisSettings = RedisSettings()
    triton: TritonSettings = TritonSettings()
    prompt_registry: PromptRegistrySettings = PromptRegistrySettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    guardrails: GuardrailsSettings = GuardrailsSettings()
    monitoring: MonitoringSettings = MonitoringSettings()
    inference: InferenceSettings = InferenceSettings()
    gateway: GatewaySettings = GatewaySettings()


def load_settings(
    path: str | os.PathLike | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read the YAML file (``path`` or ``$LLMOPS_CONFIG``, optional), apply env overrides, validate."""
    environ = os.environ if environ is None else environ
    path = path or environ.get(CONFIG_PATH_ENV)
    data: dict[str, Any] = {}
    if path:
        data = _read_yaml(Path(path))
    sources: dict[tuple[str, ...], str] = {}
    for name, raw in environ.items():
        if (
            not name.startswith(ENV_PREFIX)
            or name in _NOT_CONFIG
            or name.startswith(_NOT_CONFIG_PREFIXES)
        ):
            continue
        keys = tuple(part.lower() for part in name[len(ENV_PREFIX) :].split("__"))
        _set_nested(data, keys, yaml.safe_load(raw) if raw != "" else "", name)
        sources[keys] = name
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path, sources)) from exc


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {path} does not exist") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
    if not isinstance(loaded, dict):
        raise ConfigError(f"config file {path} must hold a mapping at the top level")
    return loaded


def _set_nested(data: dict[str, Any], keys: tuple[str, ...], value: Any, env_name: str) -> None:
    node = data
    for key in keys[:-1]:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise ConfigError(f"{env_name} sets a key below '{key}', which is not a mapping")
        node = child
    node[keys[-1]] = value


def _describe(exc: ValidationError, path: Any, sources: dict[tuple[str, ...], str]) -> str:
    lines = []
    for error in exc.errors():
        keys = tuple(str(part) for part in error["loc"])
        origin = sources.get(keys)
        where = f" (from {origin})" if origin else (f" (in {path})" if path else "")
        lines.append(f"{'.'.join(keys)}: {error['msg']}{where}")
    return "invalid configuration: " + "; ".join(lines)
