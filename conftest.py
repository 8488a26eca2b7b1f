"""Fixtures shared by every test: real servers, started once per test process.

Redis and Triton are real: a private redis-server (AOF on) in a temporary folder, and
the local Triton model server on free ports. Set LLMOPS_TEST_REDIS_URL or
LLMOPS_TEST_TRITON_URL to use servers that already run instead: each test process then
takes database 1 + its execution slot (TEST_EXECUTION_SLOT, set by Pants) and empties it
first, so give a Redis whose databases 1 to 15 hold nothing of value.
"""

from __future__ import annotations

import asyncio
import os
import warnings
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest
import redis.asyncio as redis

from llmops_core import Settings
from llmops_stack._process import free_port
from llmops_stack.model_server import (
    TritonPorts,
    models_installed,
    models_ready,
    start_model_server,
)
from llmops_stack.redis_server import redis_answers, start_redis


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> str:
    given = os.environ.get("LLMOPS_TEST_REDIS_URL")
    if given:
        database = 1 + int(os.environ.get("TEST_EXECUTION_SLOT", "0")) % 15
        url = urlunparse(urlparse(given)._replace(path=f"/{database}"))
        if asyncio.run(_flushed(url)):
            yield url
            return
    folder = tmp_path_factory.mktemp("redis")
    port = free_port()
    process = asyncio.run(start_redis(port, folder, log_path=folder / "redis.log"))
    yield f"redis://127.0.0.1:{port}/0"
    process.stop()


async def _flushed(url: str) -> bool:
    if not await redis_answers(url):
        return False
    client = redis.Redis.from_url(url)
    await client.flushdb()
    await client.aclose()
    return True


@pytest.fixture(scope="session")
def triton_url(tmp_path_factory) -> str:
    given = os.environ.get("LLMOPS_TEST_TRITON_URL")
    if given and asyncio.run(models_ready(given)):
        yield given
        return
    if not models_installed():
        pytest.skip("the local model server is not installed: run deploy/local/setup-models.sh")
    folder = tmp_path_factory.mktemp("triton")
    ports = TritonPorts(free_port(), free_port(), free_port())
    try:
        process = asyncio.run(start_model_server(ports, log_path=folder / "triton.log"))
    except RuntimeError as exc:
        # tritonserver itself has crashed at start-up under parallel test processes (a stack
        # trace from the binary, seen once in CI): start once more, and say so.
        warnings.warn(f"the local Triton failed to start; starting it again: {exc}", stacklevel=1)
        ports = TritonPorts(free_port(), free_port(), free_port())
        process = asyncio.run(start_model_server(ports, log_path=folder / "triton-again.log"))
    yield ports.grpc_url
    process.stop()


@pytest.fixture
async def empty_redis(redis_url: str) -> str:
    """The session's Redis database, emptied for a test that counts what it stores."""
    client = redis.Redis.from_url(redis_url)
    await client.flushdb()
    await client.aclose()
    return redis_url


@pytest.fixture
def settings(redis_url: str, tmp_path: Path) -> Settings:
    """Platform settings on a private Redis and data folder, every server on a free port.

    Triton endpoints point nowhere until a test asks for ``triton_url`` and sets them.
    """
    data = Settings(data_dir=tmp_path / "data").model_dump()
    data["redis"]["url"] = redis_url
    for service in (
        "prompt_registry",
        "retrieval",
        "guardrails",
        "monitoring",
        "inference",
        "gateway",
    ):
        data[service]["port"] = 0
    return Settings.model_validate(data)
