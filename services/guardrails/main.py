"""The guardrails process: the installed checks, run under versioned policies kept in Redis."""

from __future__ import annotations

import contextlib

from guardrails.catalog import CheckCatalog
from guardrails.domain import Guardrails
from guardrails.policies import PolicyRegistry, policy_from_guards
from guardrails.policy import PolicyVersion
from guardrails.servicer import GuardrailsServicer
from llmops.v1 import guardrails_pb2, guardrails_pb2_grpc
from llmops_core import (
    GrpcServer,
    PluginContext,
    PluginRegistry,
    ServiceBinding,
    Settings,
    serve,
)
from llmops_core.errors import ConfigError, InvalidArgumentError, UnavailableError
from llmops_redis.prompt_store import RedisPromptStore, RedisPromptStoreConfig

NAME = "guardrails"
SERVICE = guardrails_pb2.DESCRIPTOR.services_by_name["GuardrailsService"].full_name
MAX_TEXT_CHARS = 100_000


class GuardrailsServer(GrpcServer):
    """The gRPC server, which makes sure the default policy exists before it serves.

    With the policy store unreachable it serves anyway: requests then fail with
    UNAVAILABLE, and the first one after the store is back makes the default policy.
    """

    def __init__(self, *args, registry: PolicyRegistry, default: PolicyVersion, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._registry = registry
        self._default = default

    async def start(self) -> int:
        # Unreachable: every request says so (UNAVAILABLE, naming Redis) until it is back.
        with contextlib.suppress(UnavailableError):
            await self._registry.ensure_default(self._default)
        return await super().start()


def create_server(settings: Settings, plugins: PluginRegistry | None = None) -> GrpcServer:
    plugins = plugins or PluginRegistry()
    config = settings.guardrails
    context = PluginContext(settings)
    catalog = CheckCatalog(plugins, context)
    default = policy_from_guards(
        config.default_policy,
        [(ref.plugin, dict(ref.config)) for ref in config.input_guards],
        [(ref.plugin, dict(ref.config)) for ref in config.output_guards],
        author=NAME,
    )
    _check_configured_guards(catalog, default)
    # Policies are versioned by the prompt store's engine, under keys of their own.
    store = RedisPromptStore(RedisPromptStoreConfig(namespace="policy"), context)
    registry = PolicyRegistry(store, catalog, default_name=config.default_policy)
    guardrails = Guardrails(
        catalog, registry, default_policy=config.default_policy, max_chars=MAX_TEXT_CHARS
    )
    binding = ServiceBinding(
        SERVICE,
        GuardrailsServicer(guardrails, registry),
        guardrails_pb2_grpc.add_GuardrailsServiceServicer_to_server,
    )
    return GuardrailsServer(
        NAME, config, [binding], resources=[catalog, store], registry=registry, default=default
    )


def _check_configured_guards(catalog: CheckCatalog, default: PolicyVersion) -> None:
    """A guard list the default policy could not be made from stops the service at start,
    naming the setting to fix (not at the first request, nor only in a log line)."""
    for stage in ("input", "output"):
        for index, check in enumerate(default.checks(stage)):
            try:
                catalog.validate(check, stage, f"guardrails.{stage}_guards.{index}")
            except InvalidArgumentError as exc:
                raise ConfigError(f"invalid configuration: {exc.message}") from exc


if __name__ == "__main__":
    serve(NAME, create_server)
