"""The gRPC server runtime shared by every service.

``GrpcServer`` mounts servicers with health checking, reflection, the llmops
instrumentation of every RPC and message-size limits; ``run_server`` starts one, serves until
SIGTERM or SIGINT, then drains in-flight calls and closes the plugins.
Tests build the same server with port 0 and read back the bound port.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from prometheus_client import start_http_server

from llmops_core._config import ServerSettings, Settings, load_settings
from llmops_core._instrumentation import RpcInstrumentation
from llmops_core._logging import configure_logging, get_logger
from llmops_core._malformed import TolerantServer
from llmops_core.errors import UnavailableError


@dataclass(frozen=True)
class ServiceBinding:
    """One gRPC service to mount: its full proto name, the servicer, and the generated adder."""

    full_name: str
    servicer: Any
    add_to_server: Callable[[Any, grpc.aio.Server], None]


class GrpcServer:
    """An asyncio gRPC server for one llmops service."""

    def __init__(
        self,
        name: str,
        settings: ServerSettings,
        bindings: Sequence[ServiceBinding],
        *,
        resources: Sequence[Any] = (),
    ) -> None:
        self.name = name
        self.settings = settings
        self.bindings = list(bindings)
        self._resources = list(resources)  # plugins and clients with an async close()
        self._log = get_logger("llmops.server")
        self.health = health.aio.HealthServicer()
        self.port: int | None = None
        limit = settings.max_message_bytes
        self._server = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", limit),
                ("grpc.max_send_message_length", limit),
                # Several worker processes may share the port; one process alone keeps it
                # exclusive, so a second copy started by mistake fails instead of splitting traffic.
                ("grpc.so_reuseport", 1 if settings.workers > 1 else 0),
            ],
        )
        instrumentation = RpcInstrumentation(name)
        tolerant = TolerantServer(self._server)
        for binding in self.bindings:
            binding.add_to_server(instrumentation.instrument(binding.servicer), tolerant)
        health_pb2_grpc.add_HealthServicer_to_server(
            instrumentation.instrument(self.health), self._server
        )
        reflection.enable_server_reflection(
            [b.full_name for b in self.bindings]
            + [health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME],
            self._server,
        )

    async def start(self) -> int:
        """Bind, start serving and mark every service SERVING; returns the bound port."""
        address = f"{self.settings.host}:{self.settings.port}"
        try:
            self.port = self._server.add_insecure_port(address)
        except RuntimeError as exc:
            raise UnavailableError(f"{self.name} cannot listen on {address}: {exc}") from exc
        if self.port == 0:
            raise UnavailableError(f"{self.name} cannot listen on {address}: port in use?")
        await self._server.start()
        for service in ["", *(b.full_name for b in self.bindings)]:
            await self.health.set(service, health_pb2.HealthCheckResponse.SERVING)
        if self.settings.metrics_port is not None:
            start_http_server(self.settings.metrics_port, addr=self.settings.host)
        self._log.info("serving", service=self.name, address=f"{self.settings.host}:{self.port}")
        return self.port

    async def stop(self, grace: float | None = None) -> None:
        """Report NOT_SERVING, let in-flight calls finish within ``grace``, close plugins."""
        await self.health.enter_graceful_shutdown()
        await self._server.stop(self.settings.shutdown_grace_seconds if grace is None else grace)
        for resource in self._resources:
            try:
                await resource.close()
            except Exception:  # noqa: BLE001 - closing must go on for the others
                self._log.exception("close failed", resource=type(resource).__name__)
        self._log.info("stopped", service=self.name)

    async def wait_for_termination(self) -> None:
        await self._server.wait_for_termination()


def serve(name: str, create_server: Callable[[Settings], GrpcServer]) -> None:
    """The ``main`` of every service process: settings from file and env, JSON logs, serve.

    With ``<service>.workers`` > 1 the process forks that many workers first (before any
    gRPC object exists, as gRPC requires), each serving the same port, and passes
    SIGTERM on to them when it stops.
    """
    settings = load_settings()
    configure_logging(name, settings.log_level)
    workers = getattr(settings, name.replace("-", "_")).workers
    children = []
    for _ in range(workers - 1):
        pid = os.fork()
        if pid == 0:  # a worker: serve until told to stop, then leave without parent cleanup
            asyncio.run(_serve_once(settings, create_server))
            os._exit(0)
        children.append(pid)
    try:
        asyncio.run(_serve_once(settings, create_server))
    finally:  # the first process stopped: the workers stop with it
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGTERM)
            os.waitpid(child, 0)


async def _serve_once(settings: Settings, create_server: Callable[[Settings], GrpcServer]) -> None:
    # Built inside the running loop: a grpc.aio server belongs to the loop it is made in.
    await run_server(create_server(settings))


async def run_server(server: GrpcServer) -> None:
    """Start ``server``, serve until SIGTERM/SIGINT, then shut down gracefully."""
    await server.start()
    # What exists now (modules, plugins, clients) lives as long as the process: keep it out
    # of the collector's scans, which otherwise show up as latency spikes under load.
    gc.freeze()
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    await stopping.wait()
    await server.stop()
