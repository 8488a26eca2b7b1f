"""The server runtime over a real socket: error mapping round trips, trace ids, deadlines.

A probe servicer (a subclass of generated llmops servicers) runs whatever behaviour a
test gives it inside a real ``GrpcServer``; the SDK seam and raw stubs call it.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from llmops.v1 import inference_pb2, inference_pb2_grpc, monitoring_pb2, monitoring_pb2_grpc
from llmops_core import (
    TRACE_ID_METADATA_KEY,
    GrpcServer,
    ServerSettings,
    ServiceBinding,
    bind_trace_id,
    current_trace_id,
    remaining_deadline,
    reset_trace_id,
)
from llmops_core.errors import (
    AlreadyExistsError,
    ConfigError,
    DeadlineExceededError,
    FailedPreconditionError,
    InternalError,
    InvalidArgumentError,
    LlmopsError,
    NotFoundError,
    PluginError,
    PluginNotFoundError,
    ResourceExhaustedError,
    UnavailableError,
)
from llmops_core.testing import serving
from llmops_sdk import InferenceClient, MonitoringClient

Behaviour = Callable[[monitoring_pb2.GetTraceRequest], Awaitable[monitoring_pb2.GetTraceResponse]]


class ProbeMonitoring(monitoring_pb2_grpc.MonitoringServiceServicer):
    """GetTrace runs ``behaviour``; the default echoes what the server saw of the call."""

    def __init__(self) -> None:
        self.behaviour: Behaviour = self.echo
        self.interrupted: list[float] = []

    async def GetTrace(self, request, context):
        return await self.behaviour(request)

    async def echo(self, request):
        remaining = remaining_deadline()
        return monitoring_pb2.GetTraceResponse(
            trace=monitoring_pb2.Trace(
                trace_id=current_trace_id() or "",
                total_ms=-1.0 if remaining is None else remaining,
            )
        )


class ProbeInference(inference_pb2_grpc.InferenceServiceServicer):
    """GenerateStream yields ``chunks`` deltas, then raises ``error`` if set."""

    def __init__(self) -> None:
        self.chunks = 2
        self.error: Exception | None = None

    async def GenerateStream(self, request, context) -> AsyncIterator:
        for index in range(self.chunks):
            yield inference_pb2.GenerateStreamResponse(delta=f"d{index}")
        if self.error:
            raise self.error


@pytest.fixture
async def probe():
    monitoring, inference = ProbeMonitoring(), ProbeInference()
    server = GrpcServer(
        "probe",
        ServerSettings(port=0),
        [
            ServiceBinding(
                "llmops.v1.MonitoringService",
                monitoring,
                monitoring_pb2_grpc.add_MonitoringServiceServicer_to_server,
            ),
            ServiceBinding(
                "llmops.v1.InferenceService",
                inference,
                inference_pb2_grpc.add_InferenceServiceServicer_to_server,
            ),
        ],
    )
    async with serving(server) as address:
        yield address, monitoring, inference


def _raising(error: BaseException) -> Behaviour:
    async def behaviour(request):
        raise error

    return behaviour


ERRORS = [
    InvalidArgumentError("k is 0; use 1 to 100", reason="OUT_OF_RANGE", metadata={"field": "k"}),
    NotFoundError("no trace 'x'", reason="TRACE_NOT_FOUND"),
    AlreadyExistsError("collection 'docs' exists already"),
    FailedPreconditionError("label moved meanwhile", reason="LABEL_MOVED", metadata={"at": "3"}),
    ResourceExhaustedError("queue full"),
    UnavailableError("Redis at redis://x is unreachable", reason="REDIS_UNAVAILABLE"),
    DeadlineExceededError("too slow"),
]
# Classes whose code is shared with another class, or absent from the reverse table.
NOT_ROUND_TRIPPED = [
    InternalError("invariant broken"),
    ConfigError("invalid gateway.port"),
    PluginError("guard plugin 'x' cannot be imported", kind="guard", plugin="x"),
    PluginNotFoundError("no guard plugin named 'x'", kind="guard", plugin="x"),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
async def test_a_raised_error_arrives_as_the_same_class_reason_message_and_metadata(probe, error):
    address, monitoring, _ = probe
    monitoring.behaviour = _raising(error)
    async with MonitoringClient(address) as client:
        with pytest.raises(LlmopsError) as caught:
            await client.rpc.GetTrace(monitoring_pb2.GetTraceRequest(trace_id="t"))
    received = caught.value
    assert type(received) is type(error)
    assert (received.message, received.reason, received.metadata) == (
        error.message,
        error.reason,
        error.metadata,
    )
    assert received.domain == "probe"  # the server's name fills the default domain


@pytest.mark.parametrize("error", NOT_ROUND_TRIPPED, ids=lambda e: type(e).__name__)
async def test_reason_and_message_survive_for_every_other_class(probe, error):
    address, monitoring, _ = probe
    monitoring.behaviour = _raising(error)
    async with MonitoringClient(address) as client:
        with pytest.raises(LlmopsError) as caught:
            await client.rpc.GetTrace(monitoring_pb2.GetTraceRequest(trace_id="t"))
    assert (caught.value.message, caught.value.reason) == (error.message, error.reason)


@pytest.mark.parametrize("error", NOT_ROUND_TRIPPED, ids=lambda e: type(e).__name__)
async def test_the_class_survives_for_every_other_class(probe, error):
    address, monitoring, _ = probe
    monitoring.behaviour = _raising(error)
    async with MonitoringClient(address) as client:
        with pytest.raises(LlmopsError) as caught:
            await client.rpc.GetTrace(monitoring_pb2.GetTraceRequest(trace_id="t"))
    assert type(caught.value) is type(error)


async def test_the_raw_status_has_the_canonical_code_and_error_info(probe):
    address, monitoring, _ = probe
    monitoring.behaviour = _raising(NotFoundError("no trace 'x'"))
    async with grpc.aio.insecure_channel(address) as channel:
        stub = monitoring_pb2_grpc.MonitoringServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.GetTrace(monitoring_pb2.GetTraceRequest(trace_id="x"))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert caught.value.details() == "no trace 'x'"
    assert "grpc-status-details-bin" in dict(caught.value.trailing_metadata())


async def test_the_callers_trace_id_is_bound_in_the_handler_and_returned_in_trailers(probe):
    address, _, _ = probe
    async with grpc.aio.insecure_channel(address) as channel:
        stub = monitoring_pb2_grpc.MonitoringServiceStub(channel)
        call = stub.GetTrace(
            monitoring_pb2.GetTraceRequest(trace_id="x"),
            metadata=((TRACE_ID_METADATA_KEY, "trace-abc-1"),),
        )
        response = await call
        trailers = dict(await call.trailing_metadata())
    assert response.trace.trace_id == "trace-abc-1"
    assert trailers[TRACE_ID_METADATA_KEY] == "trace-abc-1"


async def test_without_a_trace_id_the_server_mints_one(probe):
    address, _, _ = probe
    async with grpc.aio.insecure_channel(address) as channel:
        stub = monitoring_pb2_grpc.MonitoringServiceStub(channel)
        call = stub.GetTrace(monitoring_pb2.GetTraceRequest(trace_id="x"))
        response = await call
        trailers = dict(await call.trailing_metadata())
    assert re.fullmatch(r"[0-9a-f]{32}", trailers[TRACE_ID_METADATA_KEY])
    assert response.trace.trace_id == trailers[TRACE_ID_METADATA_KEY]


async def test_the_sdk_forwards_the_current_trace_id(probe):
    address, _, _ = probe
    token = bind_trace_id("forwarded-by-sdk")
    try:
        async with MonitoringClient(address) as client:
            response = await client.rpc.GetTrace(monitoring_pb2.GetTraceRequest(trace_id="x"))
    finally:
        reset_trace_id(token)
    assert response.trace.trace_id == "forwarded-by-sdk"


async def test_a_failed_call_also_returns_the_trace_id_in_trailers(probe):
    address, monitoring, _ = probe
    monitoring.behaviour = _raising(NotFoundError("no trace 'x'"))
    async with grpc.aio.insecure_channel(address) as channel:
        stub = monitoring_pb2_grpc.MonitoringServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.GetTrace(
                monitoring_pb2.GetTraceRequest(trace_id="x"),
                metadata=((TRACE_ID_METADATA_KEY, "t-err"),),
            )
    assert dict(caught.value.trailing_metadata()).get(TRACE_ID_METADATA_KEY) == "t-err"


async def test_an_unexpected_exception_is_internal_naming_the_trace_id_but_not_the_detail(probe):
    address, monitoring, _ = probe
    monitoring.behaviour = _raising(ValueError("password=hunter2"))
    async with grpc.aio.insecure_channel(address) as channel:
        stub = monitoring_pb2_grpc.MonitoringServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.GetTrace(
                monitoring_pb2.GetTraceRequest(trace_id="x"),
                metadata=((TRACE_ID_METADATA_KEY, "t-boom"),),
            )
    assert caught.value.code() == grpc.StatusCode.INTERNAL
    details = caught.value.details()
    assert "internal error in GetTrace (ValueError)" in details
    assert "see the probe log, trace id t-boom" in details
    assert "hunter2" not in details


async def test_the_sdk_receives_an_unexpected_exception_with_reason_internal(probe):
    address, monitoring, _ = probe
    monitoring.behaviour = _raising(KeyError("k"))
    async with MonitoringClient(address) as client:
        with pytest.raises(LlmopsError, match=r"internal error in GetTrace \(KeyError\)") as caught:
            await client.rpc.GetTrace(monitoring_pb2.GetTraceRequest(trace_id="x"))
    assert caught.value.reason == "INTERNAL"


async def test_a_short_deadline_is_deadline_exceeded_and_stops_the_handler(probe):
    address, monitoring, _ = probe

    async def slow(request):
        started = time.monotonic()
        try:
            await asyncio.sleep(10)
        finally:
            monitoring.interrupted.append(time.monotonic() - started)
        return monitoring_pb2.GetTraceResponse()

    monitoring.behaviour = slow
    started = time.monotonic()
    async with MonitoringClient(address) as client:
        with pytest.raises(DeadlineExceededError):
            await client.rpc.GetTrace(monitoring_pb2.GetTraceRequest(trace_id="x"), timeout=0.3)
    assert time.monotonic() - started < 2
    for _ in range(50):  # the server side learns of the deadline on its own
        if monitoring.interrupted:
            break
        await asyncio.sleep(0.02)
    assert monitoring.interrupted and monitoring.interrupted[0] < 2


async def test_the_handler_sees_what_is_left_of_the_callers_deadline(probe):
    address, _, _ = probe
    async with grpc.aio.insecure_channel(address) as channel:
        stub = monitoring_pb2_grpc.MonitoringServiceStub(channel)
        bounded = await stub.GetTrace(monitoring_pb2.GetTraceRequest(trace_id="x"), timeout=5)
        unbounded = await stub.GetTrace(monitoring_pb2.GetTraceRequest(trace_id="x"))
    assert 3 < bounded.trace.total_ms < 5.5  # grpc rounds the timeout header up
    assert unbounded.trace.total_ms == -1.0  # no deadline: remaining_deadline() is None


async def test_a_server_stream_delivers_its_items_then_the_mapped_error(probe):
    address, _, inference = probe
    inference.chunks, inference.error = (
        3,
        NotFoundError("model 'x' is not served", reason="MODEL_NOT_FOUND"),
    )
    received = []
    async with InferenceClient(address) as client:
        with pytest.raises(NotFoundError, match="model 'x' is not served") as caught:
            async for item in client.rpc.GenerateStream(
                inference_pb2.GenerateStreamRequest(prompt="p")
            ):
                received.append(item.delta)
    assert received == ["d0", "d1", "d2"]
    assert caught.value.reason == "MODEL_NOT_FOUND"


async def test_a_server_stream_without_error_ends_cleanly(probe):
    address, _, inference = probe
    async with InferenceClient(address) as client:
        deltas = [
            i.delta async for i in client.rpc.GenerateStream(inference_pb2.GenerateStreamRequest())
        ]
    assert deltas == ["d0", "d1"]


async def test_an_rpc_the_service_does_not_implement_is_unimplemented(probe):
    address, _, _ = probe
    async with grpc.aio.insecure_channel(address) as channel:
        stub = monitoring_pb2_grpc.MonitoringServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.ListTraces(monitoring_pb2.ListTracesRequest())
    assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED


async def test_health_reports_every_mounted_service_serving(probe):
    address, _, _ = probe
    async with grpc.aio.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        for service in ("", "llmops.v1.MonitoringService", "llmops.v1.InferenceService"):
            reply = await stub.Check(health_pb2.HealthCheckRequest(service=service))
            assert reply.status == health_pb2.HealthCheckResponse.SERVING


@pytest.mark.parametrize(
    "payload",
    [
        # trace_id (field 1, a string) holding bytes that are not UTF-8
        b"\x0a\x03\xff\xfe\xfd",
        # a length that runs past the end of the message
        b"\x0a\x40abc",
        # a field number 0, which no message may use
        b"\x00\x01",
    ],
    ids=["invalid-utf8", "truncated", "field-zero"],
)
async def test_request_bytes_that_do_not_parse_are_invalid_argument_not_internal(probe, payload):
    address, monitoring, _ = probe
    async with grpc.aio.insecure_channel(address) as channel:
        raw = channel.unary_unary(
            "/llmops.v1.MonitoringService/GetTrace",
            request_serializer=lambda data: data,
            response_deserializer=lambda data: data,
        )
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await raw(payload, timeout=5)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "GetTrace request is not a valid protobuf message" in caught.value.details()
    # The server still answers well-formed calls.
    async with MonitoringClient(address) as client:
        reply = await client.rpc.GetTrace(monitoring_pb2.GetTraceRequest(trace_id="t"))
    assert reply.trace.trace_id
