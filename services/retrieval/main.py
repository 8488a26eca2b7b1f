"""The retrieval process: vector store and embedder plugins from config."""

from __future__ import annotations

from llmops.v1 import retrieval_pb2, retrieval_pb2_grpc
from llmops_core import (
    GrpcServer,
    PluginContext,
    PluginRegistry,
    ServiceBinding,
    Settings,
    serve,
)
from retrieval.domain import Retrieval
from retrieval.servicer import RetrievalServicer

NAME = "retrieval"
SERVICE = retrieval_pb2.DESCRIPTOR.services_by_name["RetrievalService"].full_name


def create_server(settings: Settings, plugins: PluginRegistry | None = None) -> GrpcServer:
    plugins = plugins or PluginRegistry()
    config = settings.retrieval
    context = PluginContext(settings)
    store = plugins.create("vector_store", config.store, context, key="retrieval.store")
    embedder = plugins.create("embedder", config.embedder, context, key="retrieval.embedder")
    retrieval = Retrieval(
        store,
        embedder,
        max_documents=config.max_documents_per_request,
        max_document_chars=config.max_document_chars,
    )
    binding = ServiceBinding(
        SERVICE,
        RetrievalServicer(retrieval),
        retrieval_pb2_grpc.add_RetrievalServiceServicer_to_server,
    )
    return GrpcServer(NAME, config, [binding], resources=[store, embedder])


if __name__ == "__main__":
    serve(NAME, create_server)
