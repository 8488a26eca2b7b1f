"""A real redis-server for the local stack and the tests, durable with AOF."""

from __future__ import annotations

import shutil
from pathlib import Path

import redis.asyncio as redis

from llmops_stack._process import ManagedProcess, start_process, wait_until


def redis_binary() -> str:
    path = shutil.which("redis-server")
    if path is None:
        raise RuntimeError(
            "redis-server is not installed: apt-get install -y redis-server "
            "(./llmops up and .ci/run install it)"
        )
    return path


async def redis_answers(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
    try:
        return bool(await client.ping())
    except Exception:  # noqa: BLE001 - anything but PONG means not (yet) usable
        return False
    finally:
        await client.aclose()


async def start_redis(
    port: int,
    data_dir: Path,
    *,
    log_path: Path,
    appendfsync: str = "everysec",
    timeout: float = 10.0,
) -> ManagedProcess:
    """Start redis-server on 127.0.0.1:``port`` with AOF in ``data_dir``; wait for PING."""
    data_dir.mkdir(parents=True, exist_ok=True)
    process = start_process(
        "redis",
        [
            redis_binary(),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(data_dir),
            "--appendonly",
            "yes",
            "--appendfsync",
            appendfsync,
            "--save",
            "",
            "--protected-mode",
            "yes",
        ],
        log_path=log_path,
    )
    url = f"redis://127.0.0.1:{port}/0"
    if not await wait_until(lambda: redis_answers(url), timeout=timeout, process=process):
        process.stop()
        raise RuntimeError(f"redis-server did not start on port {port}; see {log_path}")
    return process
