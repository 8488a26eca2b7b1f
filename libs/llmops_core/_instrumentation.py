"""What every RPC of every llmops server runs inside: trace id, logs, metrics, deadlines, errors.

Each servicer method is wrapped once, when the server is built, so servicers contain
only the mapping between protobuf and domain code: they raise ``LlmopsError`` and
this turns it into a canonical status with ErrorInfo details.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import inspect
import time
from collections.abc import AsyncIterator, Callable

import grpc
from prometheus_client import Counter, Histogram

from llmops_core._logging import (
    TRACE_ID_METADATA_KEY,
    bind_trace_id,
    get_logger,
    new_trace_id,
    reset_trace_id,
)
from llmops_core._malformed import MalformedRequest
from llmops_core._status import to_grpc_status
from llmops_core.errors import (
    DeadlineExceededError,
    InternalError,
    InvalidArgumentError,
    LlmopsError,
    UnimplementedError,
)

RPC_REQUESTS = Counter("llmops_rpc_requests_total", "RPCs handled", ["service", "method", "code"])
RPC_LATENCY = Histogram(
    "llmops_rpc_duration_seconds",
    "RPC handling time",
    ["service", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)

# The absolute deadline (time.monotonic()) of the RPC being handled, so that outgoing
# calls made on its behalf (SDK clients) can pass on what is left of it.
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "llmops_deadline", default=None
)


def remaining_deadline() -> float | None:
    """Seconds left of the current RPC's deadline (None outside an RPC or without a deadline)."""
    deadline = _deadline.get()
    return None if deadline is None else max(deadline - time.monotonic(), 0.0)


class RpcInstrumentation:
    """Binds the trace id, logs each call, counts it, enforces its deadline, maps its errors."""

    def __init__(self, service: str) -> None:
        self._service = service
        self._log = get_logger("llmops.rpc")
        # Metric children, looked up once per method rather than per call.
        self._latency: dict[str, Histogram] = {}
        self._counts: dict[tuple[str, grpc.StatusCode], Counter] = {}

    def instrument(self, servicer: object) -> object:
        """A stand-in for ``servicer`` whose RPC methods run inside the call scope.

        Wrapping the methods once, where the generated ``add_*_to_server`` reads them,
        costs less per call than a grpc.aio interceptor (measured: a do-nothing RPC ran
        at ~3,400/s wrapped against ~2,200/s through an interceptor on two cores).
        """
        return _Instrumented(self, servicer)

    def observe(self, method: str, code: grpc.StatusCode, seconds: float) -> None:
        counter = self._counts.get((method, code))
        if counter is None:
            counter = self._counts[(method, code)] = RPC_REQUESTS.labels(
                self._service, method, code.name
            )
        latency = self._latency.get(method)
        if latency is None:
            latency = self._latency[method] = RPC_LATENCY.labels(self._service, method)
        counter.inc()
        latency.observe(seconds)

    def _wrap_unary(self, behaviour: Callable, method: str):
        async def wrapped(request, context: grpc.aio.ServicerContext):
            with _CallScope(self, method, context) as scope:
                try:
                    scope.check_deadline()
                    async with asyncio.timeout(scope.timeout):
                        return await behaviour(_parsed(request, method), context)
                except Exception as exc:  # noqa: BLE001 - every failure becomes a status
                    await scope.fail(exc)

        return wrapped

    def _wrap_stream(self, behaviour: Callable, method: str):
        async def wrapped(request, context: grpc.aio.ServicerContext) -> AsyncIterator:
            with _CallScope(self, method, context) as scope:
                try:
                    scope.check_deadline()
                    async with asyncio.timeout(scope.timeout):
                        async for item in behaviour(_parsed(request, method), context):
                            yield item
                except Exception as exc:  # noqa: BLE001
                    await scope.fail(exc)

        return wrapped


_SERVER_FAULTS = frozenset(
    {
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.DATA_LOSS,
    }
)


class _Instrumented:
    """Attribute access on the servicer, with every public method wrapped in the call scope."""

    def __init__(self, owner: RpcInstrumentation, servicer: object) -> None:
        self._owner = owner
        self._servicer = servicer

    def __getattr__(self, name: str):
        method = getattr(self._servicer, name)
        if name.startswith("_") or not callable(method):
            return method
        if inspect.isasyncgenfunction(method):
            return self._owner._wrap_stream(method, name)
        return self._owner._wrap_unary(method, name)


class _CallScope:
    """Per-call state of the instrumentation: timing, trace id, outcome."""

    def __init__(self, owner: RpcInstrumentation, method: str, context) -> None:
        self.owner = owner
        self.method = method
        self.context = context
        self.code = grpc.StatusCode.OK
        metadata = dict(context.invocation_metadata() or ())
        self.trace_id = metadata.get(TRACE_ID_METADATA_KEY) or new_trace_id()
        remaining = context.time_remaining()
        self.timeout = remaining if remaining is not None and remaining < 1e8 else None

    def __enter__(self) -> _CallScope:
        self.started = time.perf_counter()
        self._tokens = (
            bind_trace_id(self.trace_id),
            _deadline.set(time.monotonic() + self.timeout if self.timeout else None),
        )
        self.context.set_trailing_metadata(((TRACE_ID_METADATA_KEY, self.trace_id),))
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        elapsed = time.perf_counter() - self.started
        owner = self.owner
        if exc_type is asyncio.CancelledError:
            self.code = grpc.StatusCode.CANCELLED
        owner.observe(self.method, self.code, elapsed)
        # Access log: successful calls at DEBUG (set log_level DEBUG to see every call; the
        # metrics count them all), failures at INFO, server-side failures at WARNING.
        log = (
            owner._log.debug
            if self.code == grpc.StatusCode.OK
            else owner._log.warning
            if self.code in _SERVER_FAULTS
            else owner._log.info
        )
        log("rpc", method=self.method, code=self.code.name, duration_ms=round(elapsed * 1000, 3))
        reset_trace_id(self._tokens[0])
        _deadline.reset(self._tokens[1])

    def check_deadline(self) -> None:
        if self.timeout is not None and self.timeout <= 0:
            raise DeadlineExceededError(f"the deadline passed before {self.method} started")

    async def fail(self, exc: BaseException):
        if isinstance(exc, grpc.aio.AbortError):
            self.code = _code_of(self.context)
            raise exc
        if isinstance(exc, TimeoutError | asyncio.TimeoutError):
            exc = DeadlineExceededError(
                f"{self.method} did not finish before the caller's deadline"
            )
        if isinstance(exc, NotImplementedError):
            # What a generated servicer base class raises for an RPC nobody overrode.
            exc = UnimplementedError(
                f"{self.method} is part of the llmops v1 API but not implemented by this "
                f"{self.owner._service} server yet",
            )
        if not isinstance(exc, LlmopsError):
            self.owner._log.exception("unhandled error", method=self.method)
            exc = InternalError(
                f"internal error in {self.method} ({type(exc).__name__}); "
                f"see the {self.owner._service} log, trace id {self.trace_id}"
            )
        status = to_grpc_status(exc, domain=self.owner._service)
        self.code = status.code
        # abort_with_status replaces the trailing metadata: keep the trace id in it.
        await self.context.abort_with_status(
            _Status(
                status.code,
                status.details,
                (*status.trailing_metadata, (TRACE_ID_METADATA_KEY, self.trace_id)),
            )
        )


def _parsed(request, method: str):
    """The request, or INVALID_ARGUMENT when its bytes did not parse (see _malformed)."""
    if isinstance(request, MalformedRequest):
        raise _malformed_error(request, method)
    if hasattr(request, "__aiter__"):  # a client stream: check each message as it arrives
        return _parsed_stream(request, method)
    return request


async def _parsed_stream(requests: AsyncIterator, method: str) -> AsyncIterator:
    async for request in requests:
        if isinstance(request, MalformedRequest):
            raise _malformed_error(request, method)
        yield request


def _malformed_error(request: MalformedRequest, method: str) -> InvalidArgumentError:
    return InvalidArgumentError(
        f"the {method} request is not a valid protobuf message ({request.reason}); "
        "send the message the API defines, with UTF-8 text in string fields",
        reason="MALFORMED_REQUEST",
    )


class _Status(
    collections.namedtuple("_Status", ("code", "details", "trailing_metadata")), grpc.Status
):
    """A grpc.Status built from parts (grpc's own implementation is private)."""


def _code_of(context) -> grpc.StatusCode:
    code = context.code()
    if isinstance(code, grpc.StatusCode):
        return code
    return next((c for c in grpc.StatusCode if c.value[0] == code), grpc.StatusCode.UNKNOWN)
