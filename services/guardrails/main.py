"""The guardrails process: input and output guard plugins from config."""

from __future__ import annotations

from guardrails.domain import Guardrails
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

NAME = "guardrails"
SERVICE = guardrails_pb2.DESCRIPTOR.services_by_name["GuardrailsService"].full_name
MAX_TEXT_CHARS = 100_000


def create_server(settings: Settings, plugins: PluginRegistry | None = None) -> GrpcServer:
    plugins = plugins or PluginRegistry()
    config = settings.guardrails
    context = PluginContext(settings)
    guards = {
        stage: [
            plugins.create("guard", ref, context, key=f"guardrails.{stage}_guards.{index}")
            for index, ref in enumerate(refs)
        ]
        for stage, refs in (("input", config.input_guards), ("output", config.output_guards))
    }
    guardrails = Guardrails(guards["input"], guards["output"], max_chars=MAX_TEXT_CHARS)
    binding = ServiceBinding(
        SERVICE,
        GuardrailsServicer(guardrails),
        guardrails_pb2_grpc.add_GuardrailsServiceServicer_to_server,
    )
    return GrpcServer(NAME, config, [binding], resources=guards["input"] + guards["output"])


if __name__ == "__main__":
    serve(NAME, create_server)
