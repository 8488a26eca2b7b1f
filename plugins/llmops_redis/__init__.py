"""Redis-backed plugins: the prompt store and the trace event sink."""

from llmops_redis.event_sink import RedisStreamSink
from llmops_redis.prompt_store import RedisPromptStore

__all__ = ["RedisPromptStore", "RedisStreamSink"]
