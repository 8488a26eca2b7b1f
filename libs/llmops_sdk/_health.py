"""grpc.health.v1 checks of any llmops service (used by ``llmops status`` and the launcher)."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


async def check_health(target: str, service: str = "", timeout: float = 1.0) -> str:
    """``SERVING``, ``NOT_SERVING``... or ``UNREACHABLE`` when nothing answers."""
    async with grpc.aio.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            answer = await stub.Check(
                health_pb2.HealthCheckRequest(service=service), timeout=timeout
            )
        except grpc.aio.AioRpcError:
            return "UNREACHABLE"
    return health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)
