"""Recording traces and summarising a window of them.

A trace is stored as its serialised ``llmops.v1.Trace`` (the schema shared with
every producer); summaries decode the window's traces and aggregate them.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from llmops.v1 import common_pb2, monitoring_pb2
from llmops_core import EventSink, TraceEvent
from llmops_core.errors import InvalidArgumentError, NotFoundError, ResourceExhaustedError

MAX_TRACE_ID_CHARS = 128
MAX_TRACE_BYTES = 1024 * 1024
MAX_WINDOW_SECONDS = 31 * 24 * 3600


@dataclass(frozen=True)
class Latency:
    count: int = 0
    p50: float = 0.0
    p90: float = 0.0
    p95: float = 0.0
    p99: float = 0.0
    max: float = 0.0
    mean: float = 0.0


@dataclass(frozen=True)
class Summary:
    request_count: int = 0
    error_count: int = 0
    blocked_input_count: int = 0
    blocked_output_count: int = 0
    flagged_count: int = 0
    latency: Latency = Latency()
    stage_latency: dict[str, Latency] = field(default_factory=dict)
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True)
class TraceFilter:
    prompt_name: str = ""
    prompt_version: int = 0
    model: str = ""
    route: str = ""

    def matches(self, trace: monitoring_pb2.Trace) -> bool:
        return (
            (not self.prompt_name or trace.prompt.name == self.prompt_name)
            and (not self.prompt_version or trace.prompt.version == self.prompt_version)
            and (not self.model or trace.model == self.model)
            and (not self.route or trace.route == self.route)
        )


class Monitoring:
    def __init__(self, sink: EventSink) -> None:
        self.sink = sink

    async def record(self, trace: monitoring_pb2.Trace) -> tuple[bool, str]:
        """Store a trace once; a second call with the same trace id records nothing."""
        if not trace.trace_id or len(trace.trace_id) > MAX_TRACE_ID_CHARS:
            raise InvalidArgumentError(
                f"trace.trace_id must hold 1 to {MAX_TRACE_ID_CHARS} characters",
                reason="INVALID_TRACE_ID",
            )
        if not trace.HasField("start_time"):
            trace.start_time.GetCurrentTime()
        payload = trace.SerializeToString()
        if len(payload) > MAX_TRACE_BYTES:
            raise ResourceExhaustedError(
                f"trace is {len(payload)} bytes; the limit is {MAX_TRACE_BYTES}",
                reason="TRACE_TOO_LARGE",
            )
        return await self.sink.record(
            TraceEvent(trace.trace_id, trace.start_time.ToMilliseconds(), payload)
        )

    async def get(self, trace_id: str) -> monitoring_pb2.Trace:
        if not trace_id or len(trace_id) > MAX_TRACE_ID_CHARS:
            raise InvalidArgumentError(
                f"trace_id must hold 1 to {MAX_TRACE_ID_CHARS} characters",
                reason="INVALID_TRACE_ID",
            )
        event = await self.sink.get(trace_id)
        if event is None:
            raise NotFoundError(f"no trace with id '{trace_id}'", reason="TRACE_NOT_FOUND")
        return monitoring_pb2.Trace.FromString(event.payload)

    async def summarise(
        self, window_seconds: float, where: TraceFilter, *, now_ms: int | None = None
    ) -> tuple[Summary, int, int]:
        """Aggregate the traces of the last ``window_seconds``; returns (summary, start, end) in ms."""
        if not 0 < window_seconds <= MAX_WINDOW_SECONDS:
            raise InvalidArgumentError(
                f"window is {window_seconds} s; it must be above 0 and at most {MAX_WINDOW_SECONDS} s"
            )
        end = now_ms if now_ms is not None else int(time.time() * 1000)
        start = end - int(window_seconds * 1000)
        traces = []
        async for event in self.sink.read_range(start, end):
            trace = monitoring_pb2.Trace.FromString(event.payload)
            if where.matches(trace):
                traces.append(trace)
        return summarise(traces), start, end


def summarise(traces: Sequence[monitoring_pb2.Trace]) -> Summary:
    stages: dict[str, list[float]] = defaultdict(list)
    for trace in traces:
        for timing in trace.timings:
            stages[timing.stage].append(timing.duration_ms)
    return Summary(
        request_count=len(traces),
        error_count=sum(t.outcome == common_pb2.OUTCOME_ERROR for t in traces),
        blocked_input_count=sum(t.outcome == common_pb2.OUTCOME_BLOCKED_INPUT for t in traces),
        blocked_output_count=sum(t.outcome == common_pb2.OUTCOME_BLOCKED_OUTPUT for t in traces),
        flagged_count=sum(_flagged(t) for t in traces),
        latency=latency([t.total_ms for t in traces]),
        stage_latency={stage: latency(values) for stage, values in sorted(stages.items())},
        input_tokens=sum(t.usage.input_tokens for t in traces),
        output_tokens=sum(t.usage.output_tokens for t in traces),
    )


def latency(values: Sequence[float]) -> Latency:
    if not values:
        return Latency()
    ordered = sorted(values)
    return Latency(
        count=len(ordered),
        p50=_nearest_rank(ordered, 50),
        p90=_nearest_rank(ordered, 90),
        p95=_nearest_rank(ordered, 95),
        p99=_nearest_rank(ordered, 99),
        max=ordered[-1],
        mean=sum(ordered) / len(ordered),
    )


def _nearest_rank(ordered: Sequence[float], percent: float) -> float:
    return ordered[max(math.ceil(percent / 100 * len(ordered)) - 1, 0)]


def _flagged(trace: monitoring_pb2.Trace) -> bool:
    return any(
        d.action == common_pb2.GUARD_ACTION_FLAG for d in (trace.input_guard, trace.output_guard)
    )
