"""One asyncio Redis client per plugin, with connection errors mapped to UnavailableError."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import redis.asyncio as redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from llmops_core import Health
from llmops_core.errors import UnavailableError


def connect(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url,
        decode_responses=False,
        socket_connect_timeout=2.0,
        socket_timeout=5.0,
        health_check_interval=30,
    )


@contextlib.asynccontextmanager
async def unavailable_on_failure(url: str) -> AsyncIterator[None]:
    """Turn 'Redis is down' into UnavailableError naming the URL, chained to the cause."""
    try:
        yield
    except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
        raise UnavailableError(
            f"Redis at {url} is unreachable ({exc}); start it (./llmops up starts one) "
            f"or point redis.url at a running server",
            reason="REDIS_UNAVAILABLE",
        ) from exc


async def ping(client: redis.Redis, url: str) -> Health:
    try:
        await client.ping()
    except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
        return Health(False, f"redis {url}: {exc}")
    return Health(True, f"redis {url}")
