"""The monitoring process: the event sink plugin from config."""

from __future__ import annotations

from llmops.v1 import monitoring_pb2, monitoring_pb2_grpc
from llmops_core import (
    GrpcServer,
    PluginContext,
    PluginRegistry,
    ServiceBinding,
    Settings,
    serve,
)
from monitoring.domain import Monitoring
from monitoring.servicer import MonitoringServicer

NAME = "monitoring"
SERVICE = monitoring_pb2.DESCRIPTOR.services_by_name["MonitoringService"].full_name


def create_server(settings: Settings, plugins: PluginRegistry | None = None) -> GrpcServer:
    plugins = plugins or PluginRegistry()
    config = settings.monitoring
    sink = plugins.create("event_sink", config.sink, PluginContext(settings), key="monitoring.sink")
    binding = ServiceBinding(
        SERVICE,
        MonitoringServicer(Monitoring(sink)),
        monitoring_pb2_grpc.add_MonitoringServiceServicer_to_server,
    )
    return GrpcServer(NAME, config, [binding], resources=[sink])


if __name__ == "__main__":
    serve(NAME, create_server)
