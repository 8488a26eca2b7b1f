"""gRPC mapping of the monitoring service."""

from __future__ import annotations

from llmops.v1 import monitoring_pb2 as pb
from llmops.v1 import monitoring_pb2_grpc
from monitoring.domain import Latency, Monitoring, TraceFilter

DEFAULT_WINDOW_SECONDS = 3600


class MonitoringServicer(monitoring_pb2_grpc.MonitoringServiceServicer):
    def __init__(self, monitoring: Monitoring) -> None:
        self.monitoring = monitoring

    async def RecordTrace(self, request, context):
        recorded, position = await self.monitoring.record(request.trace)
        return pb.RecordTraceResponse(recorded=recorded, stream_id=position)

    async def GetTrace(self, request, context):
        return pb.GetTraceResponse(trace=await self.monitoring.get(request.trace_id))

    async def GetMetrics(self, request, context):
        window = request.window.ToTimedelta().total_seconds() if request.HasField("window") else 0
        summary, start, end = await self.monitoring.summarise(
            window or DEFAULT_WINDOW_SECONDS,
            TraceFilter(request.prompt_name, request.prompt_version, request.model, request.route),
        )
        response = pb.GetMetricsResponse(
            summary=pb.MetricsSummary(
                request_count=summary.request_count,
                error_count=summary.error_count,
                blocked_input_count=summary.blocked_input_count,
                blocked_output_count=summary.blocked_output_count,
                flagged_count=summary.flagged_count,
                latency=_latency(summary.latency),
                stage_latency={k: _latency(v) for k, v in summary.stage_latency.items()},
                input_tokens=summary.input_tokens,
                output_tokens=summary.output_tokens,
            )
        )
        response.window_start.FromMilliseconds(start)
        response.window_end.FromMilliseconds(end)
        return response


def _latency(value: Latency) -> pb.LatencySummary:
    return pb.LatencySummary(
        count=value.count,
        p50_ms=value.p50,
        p90_ms=value.p90,
        p95_ms=value.p95,
        p99_ms=value.p99,
        max_ms=value.max,
        mean_ms=value.mean,
    )
