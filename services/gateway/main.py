"""The gateway process: clients of every other service, addressed from config."""

from __future__ import annotations

from gateway.pipeline import ChatPipeline, Clients
from gateway.servicer import GatewayServicer
from llmops.v1 import gateway_pb2, gateway_pb2_grpc
from llmops_core import (
    GrpcServer,
    ServiceBinding,
    Settings,
    serve,
)
from llmops_sdk import (
    GuardrailsClient,
    InferenceClient,
    MonitoringClient,
    PromptCache,
    PromptRegistryClient,
    RetrievalClient,
)
from llmops_sdk.prompt_files import fallback_prompts

NAME = "gateway"
SERVICE = gateway_pb2.DESCRIPTOR.services_by_name["GatewayService"].full_name


def create_server(settings: Settings) -> GrpcServer:
    registry = PromptRegistryClient(settings.prompt_registry.address)
    clients = Clients(
        prompts=PromptCache(
            registry,
            ttl=settings.gateway.prompt_cache_ttl_seconds,
            fallbacks=fallback_prompts(settings.gateway.fallback_prompts),
        ),
        retrieval=RetrievalClient(settings.retrieval.address),
        guardrails=GuardrailsClient(settings.guardrails.address),
        inference=InferenceClient(settings.inference.address),
        monitoring=MonitoringClient(settings.monitoring.address),
    )
    pipeline = ChatPipeline(clients, settings.gateway)
    binding = ServiceBinding(
        SERVICE, GatewayServicer(pipeline), gateway_pb2_grpc.add_GatewayServiceServicer_to_server
    )
    resources = [
        clients.prompts,
        pipeline,
        registry,
        clients.retrieval,
        clients.guardrails,
        clients.inference,
        clients.monitoring,
    ]
    return GrpcServer(NAME, settings.gateway, [binding], resources=resources)


if __name__ == "__main__":
    serve(NAME, create_server)
