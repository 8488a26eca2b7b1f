"""Public test helpers: run a real llmops server on a free port, capture structured logs,
snapshot a Redis database."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import redis.asyncio as redis
from structlog.testing import capture_logs

from llmops_core._server import GrpcServer


@contextlib.asynccontextmanager
async def serving(server: GrpcServer) -> AsyncIterator[str]:
    """Start ``server`` (configure port 0 for a free port) and yield its ``host:port``."""
    port = await server.start()
    try:
        yield f"{server.settings.host}:{port}"
    finally:
        await server.stop(grace=0)


async def redis_snapshot(url: str, match: str | None = None) -> dict[bytes, bytes]:
    """Every key of the Redis database (or those matching ``match``) with its serialised value.

    Two snapshots are equal when nothing was stored, changed or deleted in between.
    """
    connection = redis.Redis.from_url(url)
    try:
        return {
            key: await connection.dump(key)
            async for key in connection.scan_iter(match=match, count=1000)
        }
    finally:
        await connection.aclose()


__all__ = ["capture_logs", "redis_snapshot", "serving"]
