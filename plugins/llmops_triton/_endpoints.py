"""Channels to one or more Triton endpoints, tried in rotation with failover.

A call goes to the next endpoint in turn; if that endpoint cannot be reached the
call moves on to the following one, so one dead Triton costs a retry, not an
error. Only failures before any response was received are retried: a stream that
already produced tokens is never replayed.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import grpc
from tritonclient.grpc import service_pb2_grpc

from llmops_core.errors import (
    DeadlineExceededError,
    InvalidArgumentError,
    NotFoundError,
    ResourceExhaustedError,
    UnavailableError,
)

T = TypeVar("T")
_RETRYABLE = {grpc.StatusCode.UNAVAILABLE}
_MAX_MESSAGE = 64 * 1024 * 1024


class TritonEndpoints:
    def __init__(self, endpoints: list[str]) -> None:
        self.endpoints = list(endpoints)
        self._stubs = {
            url: service_pb2_grpc.GRPCInferenceServiceStub(
                grpc.aio.insecure_channel(
                    url,
                    options=[
                        ("grpc.max_receive_message_length", _MAX_MESSAGE),
                        ("grpc.max_send_message_length", _MAX_MESSAGE),
                    ],
                )
            )
            for url in self.endpoints
        }
        self._next = itertools.cycle(range(len(self.endpoints)))

    def _order(self) -> list[str]:
        start = next(self._next)
        return self.endpoints[start:] + self.endpoints[:start]

    async def unary(
        self, call: Callable[[service_pb2_grpc.GRPCInferenceServiceStub], Awaitable[T]]
    ) -> T:
        failures = []
        for url in self._order():
            try:
                return await call(self._stubs[url])
            except grpc.aio.AioRpcError as exc:
                if exc.code() not in _RETRYABLE:
                    raise translate(exc, url) from exc
                failures.append(f"{url}: {exc.details()}")
        raise _all_down(failures)

    async def stream(
        self, call: Callable[[service_pb2_grpc.GRPCInferenceServiceStub], grpc.aio.StreamStreamCall]
    ) -> AsyncIterator:
        failures = []
        for url in self._order():
            stream = call(self._stubs[url])
            received = False
            try:
                async for response in stream:
                    received = True
                    yield response
                return
            except grpc.aio.AioRpcError as exc:
                if received or exc.code() not in _RETRYABLE:
                    raise translate(exc, url) from exc
                failures.append(f"{url}: {exc.details()}")
            finally:
                stream.cancel()  # the caller went away or we are done: free the model slot
        raise _all_down(failures)

    async def close(self) -> None:
        # Channels close with the process; grpc.aio has no public handle on a stub's channel.
        self._stubs.clear()


def translate(exc: grpc.aio.AioRpcError, url: str):
    """Triton's status codes as llmops errors, naming the endpoint."""
    message = f"Triton at {url}: {exc.details()}"
    code = exc.code()
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return InvalidArgumentError(message)
    if code == grpc.StatusCode.NOT_FOUND:
        return NotFoundError(message, reason="MODEL_NOT_FOUND")
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        return ResourceExhaustedError(message)
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return DeadlineExceededError(message)
    return UnavailableError(message, reason="TRITON_ERROR")


def _all_down(failures: list[str]) -> UnavailableError:
    return UnavailableError(
        "no Triton endpoint answered (" + "; ".join(failures) + "); check triton.endpoints "
        "and that the model server runs (./llmops status)",
        reason="TRITON_UNAVAILABLE",
    )
