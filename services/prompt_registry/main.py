"""The prompt-registry process: wiring from config, ``create_server`` for tests, ``serve`` for real."""

from __future__ import annotations

from llmops.v1 import prompt_registry_pb2, prompt_registry_pb2_grpc
from llmops_core import (
    GrpcServer,
    PluginContext,
    PluginRegistry,
    ServiceBinding,
    Settings,
    serve,
)
from llmops_sdk import MonitoringClient
from prompt_registry.domain import PromptRegistry
from prompt_registry.evaluation_runs import MonitoringEvaluationRuns
from prompt_registry.servicer import PromptRegistryServicer

NAME = "prompt-registry"
SERVICE = prompt_registry_pb2.DESCRIPTOR.services_by_name["PromptRegistryService"].full_name


def create_server(settings: Settings, plugins: PluginRegistry | None = None) -> GrpcServer:
    plugins = plugins or PluginRegistry()
    config = settings.prompt_registry
    store = plugins.create(
        "prompt_store", config.store, PluginContext(settings), key="prompt_registry.store"
    )
    # Promotion gates read evaluation runs from the monitoring service (connected lazily).
    evaluations = MonitoringEvaluationRuns(MonitoringClient(settings.monitoring.address))
    servicer = PromptRegistryServicer(PromptRegistry(store, evaluations))
    binding = ServiceBinding(
        SERVICE, servicer, prompt_registry_pb2_grpc.add_PromptRegistryServiceServicer_to_server
    )
    return GrpcServer(NAME, config, [binding], resources=[store, evaluations])


if __name__ == "__main__":
    serve(NAME, create_server)
