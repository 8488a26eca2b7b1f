"""The one seam between callers and llmops services over gRPC.

Every call made through a client carries the current trace id, passes on what is
left of the caller's own deadline, and turns ``grpc.RpcError`` back into the
domain error the server raised (``llmops_core.errors``), so calling code handles
``NotFoundError`` rather than status codes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc

from llmops_core import (
    TRACE_ID_METADATA_KEY,
    current_trace_id,
    error_from_status,
    remaining_deadline,
)

DEFAULT_TIMEOUT = 30.0
_CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    ("grpc.max_send_message_length", 64 * 1024 * 1024),
    ("grpc.keepalive_time_ms", 30_000),
]


def translate(exc: grpc.aio.AioRpcError):
    return error_from_status(exc.code(), exc.details() or "", exc.trailing_metadata())


def _call_options(timeout: float | None) -> dict[str, Any]:
    options: dict[str, Any] = {}
    inherited = remaining_deadline()
    budget = [t for t in (timeout, inherited) if t is not None]
    options["timeout"] = min(budget) if budget else DEFAULT_TIMEOUT
    trace_id = current_trace_id()
    if trace_id:
        options["metadata"] = ((TRACE_ID_METADATA_KEY, trace_id),)
    return options


class _Rpcs:
    """``client.rpc.Method(request)``: the stub's methods with the seam's behaviour added."""

    def __init__(self, stub: Any, timeout: float | None) -> None:
        self._stub = stub
        self._timeout = timeout

    def __getattr__(self, method: str):
        multicallable = getattr(self._stub, method)
        # A server stream: called with a request, or (bidirectional) with an async iterator
        # of requests; either way the caller iterates the replies.
        if isinstance(
            multicallable, grpc.aio.UnaryStreamMultiCallable | grpc.aio.StreamStreamMultiCallable
        ):
            return self._streaming(multicallable)
        return self._unary(multicallable)

    def _unary(self, multicallable):
        async def call(request, *, timeout: float | None = None):
            try:
                return await multicallable(request, **_call_options(timeout or self._timeout))
            except grpc.aio.AioRpcError as exc:
                raise translate(exc) from exc

        return call

    def _streaming(self, multicallable):
        async def call(request, *, timeout: float | None = None) -> AsyncIterator:
            stream = multicallable(request, **_call_options(timeout or self._timeout))
            try:
                async for item in stream:
                    yield item
            except grpc.aio.AioRpcError as exc:
                raise translate(exc) from exc
            finally:
                stream.cancel()

        return call


class ServiceClient:
    """A connection to one llmops service; ``rpc`` exposes every RPC of its stub."""

    stub_class: type

    def __init__(self, target: str, *, timeout: float | None = None) -> None:
        self.target = target
        self.channel = grpc.aio.insecure_channel(target, options=_CHANNEL_OPTIONS)
        self.stub = self.stub_class(self.channel)  # raw generated stub: grpc errors, no seam
        self.rpc = _Rpcs(self.stub, timeout)

    async def close(self) -> None:
        await self.channel.close()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.close()
