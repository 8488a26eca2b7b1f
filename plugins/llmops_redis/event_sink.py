"""EventSink on a Redis stream: traces appended once per trace id, read back by time range.

Stream ids are ``<milliseconds>-<seq>``, so a time window is an XRANGE without any
secondary index. A per-trace key written with NX in the same script makes recording
idempotent: a retried RecordTrace never counts a request twice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from llmops_core import Health, PluginContext, TraceEvent
from llmops_redis._connection import connect, ping, unavailable_on_failure

_RECORD = """
local existing = redis.call('GET', KEYS[2])
if existing then return {0, existing} end
-- The id's time part is the trace's own timestamp, so windows follow request time.
-- XADD refuses an id below the stream's last one: a trace that arrives late is
-- appended at "now" instead.
local id = redis.pcall('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], ARGV[2] .. '-*',
  'trace_id', ARGV[1], 'payload', ARGV[3])
if type(id) == 'table' and id.err then
  id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '*',
    'trace_id', ARGV[1], 'payload', ARGV[3])
end
redis.call('SET', KEYS[2], id, 'EX', ARGV[5])
return {1, id}
"""


class RedisStreamSinkConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str | None = None  # default: the platform's redis.url
    stream: str = "llmops:traces"
    max_len: int = Field(default=1_000_000, ge=1000)  # approximate cap of the stream
    dedupe_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60)


class RedisStreamSink:
    """Traces in one Redis stream."""

    name: ClassVar[str] = "redis-stream"
    Config: ClassVar[type[BaseModel]] = RedisStreamSinkConfig

    def __init__(self, config: RedisStreamSinkConfig, context: PluginContext) -> None:
        self.config = config
        self.url = config.url or context.settings.redis.url
        self.stream = config.stream
        self._redis = connect(self.url)
        self._record = self._redis.register_script(_RECORD)

    async def health(self) -> Health:
        return await ping(self._redis, self.url)

    async def close(self) -> None:
        await self._redis.aclose()

    async def record(self, event: TraceEvent) -> tuple[bool, str]:
        async with unavailable_on_failure(self.url):
            recorded, position = await self._record(
                keys=[self.stream, self._dedupe_key(event.trace_id)],
                args=[
                    event.trace_id,
                    event.timestamp_ms,
                    event.payload,
                    self.config.max_len,
                    self.config.dedupe_ttl_seconds,
                ],
            )
        return bool(recorded), position.decode()

    async def get(self, trace_id: str) -> TraceEvent | None:
        async with unavailable_on_failure(self.url):
            position = await self._redis.get(self._dedupe_key(trace_id))
            if position is None:
                return None
            entries = await self._redis.xrange(self.stream, position, position)
        return _event(*entries[0]) if entries else None

    async def read_range(self, start_ms: int, end_ms: int) -> AsyncIterator[TraceEvent]:
        cursor = f"{start_ms}-0"
        while True:
            async with unavailable_on_failure(self.url):
                entries = await self._redis.xrange(self.stream, cursor, str(end_ms), count=1000)
            for position, fields in entries:
                yield _event(position, fields)
            if len(entries) < 1000:
                return
            cursor = "(" + entries[-1][0].decode()

    def _dedupe_key(self, trace_id: str) -> str:
        return f"{self.stream}:id:{trace_id}"


def _event(position: bytes, fields: dict[bytes, bytes]) -> TraceEvent:
    return TraceEvent(
        trace_id=fields[b"trace_id"].decode(),
        timestamp_ms=int(position.split(b"-")[0]),
        payload=fields[b"payload"],
    )
