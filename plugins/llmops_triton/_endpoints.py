"""Channels to one or more Triton endpoints: health-aware balancing, failover, safe retries.

A call goes to the healthy endpoint with the fewest calls in flight (ties in rotation).
An endpoint that cannot be reached leaves the rotation for a cool-down that doubles with
each failure in a row (up to ``max_cooldown_s``); when it has passed, a ServerReady probe
in the background brings the endpoint back. Endpoints in cool-down are still tried, last,
when every healthy one failed: a call fails only when no endpoint answers, and then its
error names every endpoint with what went wrong there.

Retries: a call that could not reach an endpoint (UNAVAILABLE before any response) did
nothing visible, so it moves on to the next endpoint, and after a round where every
endpoint failed it waits (exponential backoff) and tries another round while the
caller's deadline allows. A stream that already produced a response is never replayed:
its caller would see tokens twice.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import grpc
from tritonclient.grpc import service_pb2, service_pb2_grpc

from llmops_core import EndpointHealth, remaining_deadline
from llmops_core.errors import (
    DeadlineExceededError,
    InvalidArgumentError,
    LlmopsError,
    NotFoundError,
    ResourceExhaustedError,
    UnavailableError,
)

T = TypeVar("T")
Stub = service_pb2_grpc.GRPCInferenceServiceStub
_MAX_MESSAGE = 64 * 1024 * 1024
_CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", _MAX_MESSAGE),
    ("grpc.max_send_message_length", _MAX_MESSAGE),
    # gRPC's default reconnect backoff grows to two minutes, during which a restarted
    # Triton would be refused without a try; the cool-down above paces us instead.
    ("grpc.initial_reconnect_backoff_ms", 250),
    ("grpc.min_reconnect_backoff_ms", 250),
    ("grpc.max_reconnect_backoff_ms", 2_000),
]


@dataclass(frozen=True)
class EndpointPolicy:
    """How endpoints are balanced, cooled down and retried."""

    cooldown_s: float = 1.0  # first cool-down of a failed endpoint; doubles per failure in a row
    max_cooldown_s: float = 30.0
    retry_rounds: int = 1  # extra rounds over all endpoints after one where all failed
    backoff_s: float = 0.1  # wait before the first extra round; doubles per round
    probe_timeout_s: float = 1.0  # ServerReady / ModelReady probes
    unary_timeout_s: float = 30.0  # unary calls made without a caller's deadline


class _Endpoint:
    def __init__(self, address: str) -> None:
        self.address = address
        self.channel = grpc.aio.insecure_channel(address, options=_CHANNEL_OPTIONS)
        self.stub = Stub(self.channel)
        self.healthy = True  # optimistic: the first call finds out
        self.last_error = ""
        self.check_time = 0.0
        self.retry_at = 0.0  # monotonic time when the cool-down ends
        self.failures_in_row = 0
        self.in_flight = 0
        self.calls = 0
        self.failures = 0
        self.probe: asyncio.Task | None = None

    def up(self) -> None:
        self.healthy, self.failures_in_row, self.check_time = True, 0, time.time()

    def down(self, error: str, policy: EndpointPolicy) -> None:
        self.healthy, self.last_error, self.check_time = False, error, time.time()
        self.failures += 1
        cooldown = min(policy.cooldown_s * 2**self.failures_in_row, policy.max_cooldown_s)
        self.failures_in_row += 1
        self.retry_at = time.monotonic() + cooldown

    def health(self) -> EndpointHealth:
        return EndpointHealth(
            self.address,
            self.healthy,
            self.last_error,
            self.check_time,
            self.in_flight,
            self.calls,
            self.failures,
        )


class TritonEndpoints:
    def __init__(self, endpoints: list[str], policy: EndpointPolicy | None = None) -> None:
        if not endpoints:
            raise ValueError("at least one Triton endpoint is needed")
        self.policy = policy or EndpointPolicy()
        self._endpoints = [_Endpoint(address) for address in dict.fromkeys(endpoints)]
        self._turn = itertools.count()

    @property
    def endpoints(self) -> list[str]:
        return [e.address for e in self._endpoints]

    def health(self) -> list[EndpointHealth]:
        return [e.health() for e in self._endpoints]

    def _order(self) -> list[_Endpoint]:
        """Healthy endpoints, least loaded first (rotating among equals), then cooling ones."""
        turn = next(self._turn) % len(self._endpoints)
        rotated = self._endpoints[turn:] + self._endpoints[:turn]
        now = time.monotonic()
        for endpoint in rotated:
            if not endpoint.healthy and endpoint.retry_at <= now and endpoint.probe is None:
                endpoint.probe = asyncio.get_running_loop().create_task(self._reprobe(endpoint))
        healthy = sorted((e for e in rotated if e.healthy), key=lambda e: e.in_flight)
        cooling = sorted((e for e in rotated if not e.healthy), key=lambda e: e.retry_at)
        return healthy + cooling

    async def _reprobe(self, endpoint: _Endpoint) -> None:
        try:
            await self._probe(endpoint)
        finally:
            endpoint.probe = None

    async def probe_all(self) -> list[EndpointHealth]:
        """Probe every endpoint with ServerReady now; their health afterwards."""
        await asyncio.gather(*(self._probe(e) for e in self._endpoints))
        return self.health()

    async def _probe(self, endpoint: _Endpoint) -> None:
        try:
            answer = await endpoint.stub.ServerReady(
                service_pb2.ServerReadyRequest(), timeout=self.policy.probe_timeout_s
            )
            if answer.ready:
                endpoint.up()
            else:
                endpoint.down("server not ready", self.policy)
        except grpc.aio.AioRpcError as exc:
            endpoint.down(_describe(exc), self.policy)

    @staticmethod
    def _timeout(default: float | None) -> float | None:
        """The caller's deadline passes on to Triton; ``default`` where it has none."""
        left = remaining_deadline()
        return default if left is None else left if default is None else min(left, default)

    async def _back_off(self, round_: int) -> bool:
        """Wait before round ``round_`` (1, 2, ...); False when the deadline leaves no time."""
        pause = self.policy.backoff_s * 2 ** (round_ - 1)
        left = remaining_deadline()
        if left is not None and left <= pause:
            return False
        await asyncio.sleep(pause)
        return True

    async def unary(self, call: Callable[[Stub, float], Awaitable[T]]) -> T:
        """``call(stub, timeout)`` on the best endpoint, failing over while none answered."""
        failures: dict[str, str] = {}
        for round_ in range(self.policy.retry_rounds + 1):
            if round_ and not await self._back_off(round_):
                break
            for endpoint in self._order():
                endpoint.in_flight += 1
                try:
                    answer = await call(endpoint.stub, self._timeout(self.policy.unary_timeout_s))
                except grpc.aio.AioRpcError as exc:
                    if exc.code() != grpc.StatusCode.UNAVAILABLE:
                        raise translate(exc, endpoint.address) from exc
                    endpoint.down(_describe(exc), self.policy)
                    failures[endpoint.address] = _describe(exc)
                    continue
                finally:
                    endpoint.in_flight -= 1
                endpoint.calls += 1
                endpoint.up()
                return answer
        raise all_down(failures, self._endpoints)

    async def stream(
        self,
        call: Callable[[Stub, float | None], grpc.aio.StreamStreamCall],
        *,
        not_here: Callable[[object], str | None] | None = None,
    ) -> AsyncIterator[tuple[str, object]]:
        """(endpoint, response) pairs of ``call(stub, timeout)``, a streaming call.

        Fails over only until the first response; after that a broken stream is the
        caller's UNAVAILABLE, never a replay and never a silently shorter answer.
        ``not_here(first_response)`` names why an endpoint cannot serve this call though
        it is up (e.g. the model is not loaded there): the next endpoint is tried, and
        when every endpoint says so the last such response goes to the caller.
        """
        failures: dict[str, str] = {}
        refusals: dict[str, object] = {}  # endpoint -> its first response, saying not here
        for round_ in range(self.policy.retry_rounds + 1):
            if len(refusals) == len(self._endpoints):
                break  # live servers that all said no: retrying will not change that
            if round_ and not await self._back_off(round_):
                break
            for endpoint in self._order():
                endpoint.in_flight += 1
                stream = call(endpoint.stub, self._timeout(None))
                received = False
                try:
                    async for response in stream:
                        if not received:
                            received = True
                            endpoint.calls += 1
                            endpoint.up()
                            why = not_here(response) if not_here else None
                            if why:
                                failures[endpoint.address] = why
                                refusals[endpoint.address] = response
                                break  # try the next endpoint
                        yield endpoint.address, response
                    else:
                        return
                except grpc.aio.AioRpcError as exc:
                    if exc.code() == grpc.StatusCode.UNAVAILABLE:
                        endpoint.down(_describe(exc), self.policy)
                    if received:
                        raise _broken(exc, endpoint.address) from exc
                    if exc.code() != grpc.StatusCode.UNAVAILABLE:
                        raise translate(exc, endpoint.address) from exc
                    failures[endpoint.address] = _describe(exc)
                finally:
                    endpoint.in_flight -= 1
                    stream.cancel()  # done, failed or abandoned: Triton may free the request
        if len(refusals) == len(self._endpoints):
            yield next(iter(refusals.items()))  # the caller turns it into its error
            return
        raise all_down(failures, self._endpoints)

    async def readiness(self, model: str) -> list[tuple[EndpointHealth, bool, str]]:
        """Ask every endpoint at once whether ``model`` is ready: (endpoint, ready, why not)."""

        async def ask(endpoint: _Endpoint) -> tuple[EndpointHealth, bool, str]:
            try:
                answer = await endpoint.stub.ModelReady(
                    service_pb2.ModelReadyRequest(name=model), timeout=self.policy.probe_timeout_s
                )
            except grpc.aio.AioRpcError as exc:
                if exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                    endpoint.down(_describe(exc), self.policy)
                    return endpoint.health(), False, _describe(exc)
                endpoint.up()
                return endpoint.health(), False, f"model '{model}': {_describe(exc)}"
            endpoint.up()
            why = "" if answer.ready else f"model '{model}' is not ready"
            return endpoint.health(), answer.ready, why

        return list(await asyncio.gather(*(ask(e) for e in self._endpoints)))

    async def close(self) -> None:
        for endpoint in self._endpoints:
            if endpoint.probe is not None:
                endpoint.probe.cancel()
            await endpoint.channel.close()


def _describe(exc: grpc.aio.AioRpcError) -> str:
    return f"{exc.code().name}: {exc.details()}"


def translate(exc: grpc.aio.AioRpcError, address: str) -> LlmopsError:
    """Triton's status codes as llmops errors, naming the endpoint."""
    message = f"Triton at {address}: {exc.details()}"
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


def _broken(exc: grpc.aio.AioRpcError, address: str) -> LlmopsError:
    if exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
        return DeadlineExceededError(f"Triton at {address}: the deadline passed mid-answer")
    return UnavailableError(
        f"Triton at {address} failed mid-answer ({_describe(exc)}); the answer is incomplete "
        "and was not replayed: retry the request",
        reason="TRITON_STREAM_BROKEN",
    )


def all_down(failures: dict[str, str], endpoints: list[_Endpoint]) -> UnavailableError:
    # Every endpoint is named: the ones tried with their error, any other with the one
    # that put it in cool-down.
    reasons = [
        f"{e.address}: {failures.get(e.address) or e.last_error or 'not tried'}" for e in endpoints
    ]
    return UnavailableError(
        "no Triton endpoint answered (" + "; ".join(reasons) + "); check triton.endpoints "
        "and that the model server runs (./llmops status)",
        reason="TRITON_UNAVAILABLE",
    )
