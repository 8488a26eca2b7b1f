"""All six services in one process on free ports, each a real gRPC server on a real socket.

Tests use it to exercise the whole request path without spawning processes; the
gateway is started last, pointed at the ports the others were given.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from llmops_core import Settings

SERVICES = ("prompt_registry", "retrieval", "guardrails", "monitoring", "inference")


@contextlib.asynccontextmanager
async def running_stack(settings: Settings) -> AsyncIterator[Settings]:
    """Start every service; yield settings whose ``<service>.port`` are the bound ports."""
    from gateway.main import create_server as gateway_server
    from guardrails.main import create_server as guardrails_server
    from inference.main import create_server as inference_server
    from monitoring.main import create_server as monitoring_server
    from prompt_registry.main import create_server as registry_server
    from retrieval.main import create_server as retrieval_server

    factories = {
        "prompt_registry": registry_server,
        "retrieval": retrieval_server,
        "guardrails": guardrails_server,
        "monitoring": monitoring_server,
        "inference": inference_server,
    }
    started = []
    data = settings.model_dump()
    try:
        for name in SERVICES:
            server = factories[name](settings)
            data[name]["port"] = await server.start()
            started.append(server)
        bound = Settings.model_validate(data)
        gateway = gateway_server(bound)
        data["gateway"]["port"] = await gateway.start()
        started.append(gateway)
        yield Settings.model_validate(data)
    finally:
        for server in reversed(started):
            await server.stop(grace=0)
