"""Typed clients, one per llmops service."""

from __future__ import annotations

from llmops.v1 import (
    gateway_pb2_grpc,
    guardrails_pb2_grpc,
    inference_pb2_grpc,
    monitoring_pb2_grpc,
    prompt_registry_pb2_grpc,
    retrieval_pb2_grpc,
)
from llmops_sdk._client import ServiceClient


class GatewayClient(ServiceClient):
    """Chat with the composed pipeline."""

    stub_class = gateway_pb2_grpc.GatewayServiceStub


class PromptRegistryClient(ServiceClient):
    """Versioned prompts, labels, rendering."""

    stub_class = prompt_registry_pb2_grpc.PromptRegistryServiceStub


class RetrievalClient(ServiceClient):
    """Collections, ingestion and search."""

    stub_class = retrieval_pb2_grpc.RetrievalServiceStub


class GuardrailsClient(ServiceClient):
    """Input and output checks."""

    stub_class = guardrails_pb2_grpc.GuardrailsServiceStub


class MonitoringClient(ServiceClient):
    """Traces, metrics, feedback."""

    stub_class = monitoring_pb2_grpc.MonitoringServiceStub


class InferenceClient(ServiceClient):
    """Generation, embeddings, models."""

    stub_class = inference_pb2_grpc.InferenceServiceStub
