"""The inference process: the InferenceBackend plugin (Triton by default) from config."""

from __future__ import annotations

from inference.chat_templates import template
from inference.domain import Inference
from inference.servicer import InferenceServicer
from llmops.v1 import inference_pb2, inference_pb2_grpc
from llmops_core import (
    GrpcServer,
    PluginContext,
    PluginRegistry,
    ServiceBinding,
    Settings,
    serve,
)

NAME = "inference"
SERVICE = inference_pb2.DESCRIPTOR.services_by_name["InferenceService"].full_name


def create_server(settings: Settings, plugins: PluginRegistry | None = None) -> GrpcServer:
    plugins = plugins or PluginRegistry()
    config = settings.inference
    backend = plugins.create(
        "inference_backend", config.backend, PluginContext(settings), key="inference.backend"
    )
    inference = Inference(
        backend,
        default_model=config.default_model,
        default_embedding_model=settings.triton.embedding_model,
        template=template(config.chat_template),
        max_prompt_chars=config.max_prompt_chars,
        max_tokens_limit=config.max_tokens_limit,
        max_concurrent_generations=config.max_concurrent_generations,
    )
    binding = ServiceBinding(
        SERVICE,
        InferenceServicer(inference),
        inference_pb2_grpc.add_InferenceServiceServicer_to_server,
    )
    return GrpcServer(NAME, config, [binding], resources=[backend])


if __name__ == "__main__":
    serve(NAME, create_server)
