"""The monitoring service over a real socket, on a real Redis stream."""

from __future__ import annotations

import random
import time
import uuid

import pytest
import redis.asyncio as redis
from google.protobuf import duration_pb2

from llmops.v1 import common_pb2
from llmops.v1 import monitoring_pb2 as pb
from llmops_core import Settings
from llmops_core.errors import (
    InvalidArgumentError,
    NotFoundError,
    ResourceExhaustedError,
    UnavailableError,
)
from llmops_core.testing import serving
from llmops_sdk import MonitoringClient
from llmops_stack._process import free_port
from monitoring.main import create_server


def _on_stream(settings: Settings, stream: str) -> Settings:
    """The settings with the sink on a stream of its own, so tests do not see each other's traces."""
    data = settings.model_dump()
    data["monitoring"]["sink"] = {"plugin": "redis-stream", "config": {"stream": stream}}
    return Settings.model_validate(data)


@pytest.fixture
def stream() -> str:
    return f"test:traces:{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def client(settings, stream):
    async with (
        serving(create_server(_on_stream(settings, stream))) as address,
        MonitoringClient(address) as client,
    ):
        yield client


@pytest.fixture
async def redis_client(redis_url):
    client = redis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


def _trace(total_ms: float = 12.5, prompt: str = "rag-answer", **fields) -> pb.Trace:
    defaults = {
        "model": "smollm2-135m",
        "outcome": common_pb2.OUTCOME_OK,
        "input": "What is Redis?",
        "output": "An in-memory store.",
    }
    trace = pb.Trace(
        trace_id=uuid.uuid4().hex,
        prompt=common_pb2.PromptRef(name=prompt, version=2, label="production"),
        total_ms=total_ms,
        usage=common_pb2.TokenUsage(input_tokens=100, output_tokens=20),
        **{**defaults, **fields},
    )
    trace.start_time.GetCurrentTime()
    return trace


async def test_a_trace_is_recorded_once_and_read_back(client, redis_client, stream):
    trace = _trace(
        collection="docs",
        collection_revision=7,
        hit_ids=["redis#0", "redis#1"],
        timings=[common_pb2.StageTiming(stage="generation", duration_ms=9.5)],
        attributes={"client": "test"},
    )
    first = await client.rpc.RecordTrace(pb.RecordTraceRequest(trace=trace))
    assert first.recorded is True
    assert first.stream_id.startswith(f"{trace.start_time.ToMilliseconds()}-")
    assert await redis_client.xlen(stream) == 1

    changed = pb.Trace()
    changed.CopyFrom(trace)
    changed.output = "Something else entirely."
    again = await client.rpc.RecordTrace(pb.RecordTraceRequest(trace=changed))
    assert (again.recorded, again.stream_id) == (False, first.stream_id)
    assert await redis_client.xlen(stream) == 1

    stored = (await client.rpc.GetTrace(pb.GetTraceRequest(trace_id=trace.trace_id))).trace
    assert stored == trace  # the first recording is kept as it was


async def test_a_trace_without_a_start_time_gets_the_recording_time(client):
    trace = pb.Trace(trace_id=uuid.uuid4().hex, total_ms=1)
    before = int(time.time() * 1000)
    await client.rpc.RecordTrace(pb.RecordTraceRequest(trace=trace))
    stored = (await client.rpc.GetTrace(pb.GetTraceRequest(trace_id=trace.trace_id))).trace
    assert before - 5 <= stored.start_time.ToMilliseconds() <= int(time.time() * 1000) + 5


async def test_a_trace_older_than_the_last_one_is_still_recorded(client, redis_client, stream):
    newer, older = _trace(), _trace()
    older.start_time.FromMilliseconds(newer.start_time.ToMilliseconds() - 60_000)
    await client.rpc.RecordTrace(pb.RecordTraceRequest(trace=newer))
    reply = await client.rpc.RecordTrace(pb.RecordTraceRequest(trace=older))
    assert reply.recorded
    assert await redis_client.xlen(stream) == 2
    stored = (await client.rpc.GetTrace(pb.GetTraceRequest(trace_id=older.trace_id))).trace
    assert stored.start_time == older.start_time


async def test_metrics_count_and_take_exact_nearest_rank_percentiles(client):
    prompt = f"metrics-{uuid.uuid4().hex[:8]}"
    totals = list(range(1, 101))  # 1..100 ms
    random.Random(7).shuffle(totals)
    for index, total in enumerate(totals):
        outcome = {
            0: common_pb2.OUTCOME_ERROR,
            1: common_pb2.OUTCOME_BLOCKED_INPUT,
            2: common_pb2.OUTCOME_BLOCKED_OUTPUT,
        }.get(index % 10, common_pb2.OUTCOME_OK)
        trace = _trace(
            total,
            prompt,
            outcome=outcome,
            timings=[
                common_pb2.StageTiming(stage="generation", duration_ms=total / 2),
                common_pb2.StageTiming(stage="retrieval", duration_ms=3.0),
            ],
        )
        if index % 25 == 0:
            trace.output_guard.action = common_pb2.GUARD_ACTION_FLAG
        await client.rpc.RecordTrace(pb.RecordTraceRequest(trace=trace))
    # Traces of another prompt in the same window are left out by the filter.
    await client.rpc.RecordTrace(pb.RecordTraceRequest(trace=_trace(5000.0, "another-prompt")))

    reply = await client.rpc.GetMetrics(pb.GetMetricsRequest(prompt_name=prompt))
    summary = reply.summary
    assert summary.request_count == 100
    assert (summary.error_count, summary.blocked_input_count, summary.blocked_output_count) == (
        10,
        10,
        10,
    )
    assert summary.flagged_count == 4
    assert (summary.input_tokens, summary.output_tokens) == (10_000, 2_000)
    latency = summary.latency
    assert (
        latency.count,
        latency.p50_ms,
        latency.p90_ms,
        latency.p95_ms,
        latency.p99_ms,
        latency.max_ms,
    ) == (100, 50.0, 90.0, 95.0, 99.0, 100.0)
    assert latency.mean_ms == pytest.approx(50.5)
    assert set(summary.stage_latency) == {"generation", "retrieval"}
    assert summary.stage_latency["generation"].p50_ms == 25.0
    assert summary.stage_latency["retrieval"].max_ms == 3.0
    window = reply.window_end.ToMilliseconds() - reply.window_start.ToMilliseconds()
    assert window == 3600 * 1000  # unset window: one hour

    everything = (await client.rpc.GetMetrics(pb.GetMetricsRequest())).summary
    assert everything.request_count == 101
    assert everything.latency.max_ms == 5000.0


async def test_metrics_filter_by_version_model_and_route(client):
    prompt = f"filters-{uuid.uuid4().hex[:8]}"
    traces = [
        _trace(10, prompt, route="chat"),
        _trace(20, prompt, route="chat", model="other-model"),
        _trace(30, prompt, route="batch"),
    ]
    traces[2].prompt.version = 3
    for trace in traces:
        await client.rpc.RecordTrace(pb.RecordTraceRequest(trace=trace))

    async def count(**where) -> int:
        reply = await client.rpc.GetMetrics(pb.GetMetricsRequest(prompt_name=prompt, **where))
        return reply.summary.request_count

    assert await count() == 3
    assert await count(prompt_version=3) == 1
    assert await count(model="other-model") == 1
    assert await count(route="chat") == 2
    assert await count(route="chat", model="smollm2-135m") == 1
    assert await count(model="no-such-model") == 0


async def test_the_window_leaves_out_older_traces(client):
    prompt = f"window-{uuid.uuid4().hex[:8]}"
    old = _trace(10, prompt)
    old.start_time.FromMilliseconds(int(time.time() * 1000) - 120_000)  # two minutes ago
    await client.rpc.RecordTrace(pb.RecordTraceRequest(trace=old))
    await client.rpc.RecordTrace(pb.RecordTraceRequest(trace=_trace(20, prompt)))
    last_minute = await client.rpc.GetMetrics(
        pb.GetMetricsRequest(prompt_name=prompt, window=duration_pb2.Duration(seconds=60))
    )
    last_hour = await client.rpc.GetMetrics(pb.GetMetricsRequest(prompt_name=prompt))
    assert last_minute.summary.request_count == 1
    assert last_minute.summary.latency.max_ms == 20.0
    assert last_hour.summary.request_count == 2


async def test_an_empty_window_has_zero_counts(client):
    reply = await client.rpc.GetMetrics(pb.GetMetricsRequest(prompt_name="nothing-recorded"))
    assert reply.summary.request_count == 0
    assert reply.summary.latency.count == 0 and reply.summary.latency.p99_ms == 0


async def test_bad_input_is_invalid_argument(client, redis_client, stream):
    cases = [
        (
            client.rpc.RecordTrace(pb.RecordTraceRequest(trace=pb.Trace())),
            "trace.trace_id must hold 1 to 128",
        ),
        (client.rpc.RecordTrace(pb.RecordTraceRequest()), "trace.trace_id must hold"),
        (
            client.rpc.RecordTrace(pb.RecordTraceRequest(trace=pb.Trace(trace_id="t" * 129))),
            "trace.trace_id must hold 1 to 128",
        ),
        (
            client.rpc.GetMetrics(pb.GetMetricsRequest(window=duration_pb2.Duration(seconds=-5))),
            "window is -5.0 s; it must be above 0",
        ),
        (
            client.rpc.GetMetrics(
                pb.GetMetricsRequest(window=duration_pb2.Duration(seconds=32 * 24 * 3600))
            ),
            "at most 2678400 s",
        ),
    ]
    for call, message in cases:
        with pytest.raises(InvalidArgumentError, match=message):
            await call
    assert await redis_client.xlen(stream) == 0
    longest = await client.rpc.RecordTrace(
        pb.RecordTraceRequest(trace=pb.Trace(trace_id="t" * 128))
    )
    assert longest.recorded


async def test_an_oversized_trace_is_refused_and_not_stored(client, redis_client, stream):
    trace = _trace(output="x" * (1024 * 1024 + 10))
    with pytest.raises(
        (InvalidArgumentError, ResourceExhaustedError), match="the limit is 1048576"
    ):
        await client.rpc.RecordTrace(pb.RecordTraceRequest(trace=trace))
    assert await redis_client.xlen(stream) == 0


async def test_an_oversized_trace_is_resource_exhausted(client):
    with pytest.raises(ResourceExhaustedError):
        await client.rpc.RecordTrace(
            pb.RecordTraceRequest(trace=_trace(output="x" * (1024 * 1024 + 10)))
        )


async def test_an_unknown_trace_is_not_found(client):
    with pytest.raises(NotFoundError, match="no trace with id 'never-recorded'") as caught:
        await client.rpc.GetTrace(pb.GetTraceRequest(trace_id="never-recorded"))
    assert caught.value.reason == "TRACE_NOT_FOUND"


async def test_an_empty_trace_id_is_invalid_argument(client):
    with pytest.raises(InvalidArgumentError):
        await client.rpc.GetTrace(pb.GetTraceRequest(trace_id=""))


async def test_redis_down_is_unavailable_naming_the_url(settings):
    url = f"redis://127.0.0.1:{free_port()}/0"  # nobody listens there
    data = settings.model_dump()
    data["redis"]["url"] = url
    down = Settings.model_validate(data)
    async with serving(create_server(down)) as address, MonitoringClient(address) as client:
        calls = [
            client.rpc.RecordTrace(pb.RecordTraceRequest(trace=_trace())),
            client.rpc.GetTrace(pb.GetTraceRequest(trace_id="any")),
            client.rpc.GetMetrics(pb.GetMetricsRequest()),
        ]
        for call in calls:
            started = time.monotonic()
            with pytest.raises(UnavailableError, match=f"Redis at {url} is unreachable") as caught:
                await call
            assert caught.value.reason == "REDIS_UNAVAILABLE"
            assert time.monotonic() - started < 5
