"""Public test helpers: run a real llmops server on a free port, capture structured logs."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

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


__all__ = ["capture_logs", "serving"]
