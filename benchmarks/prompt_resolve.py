"""Prompt resolution speed: the ResolvePrompt RPC on a real Redis, and the SDK cache.

Baseline, measured in the same run: a redis-py GET loop at the same concurrency
against the same Redis. The ratio is the figure that matters (the registry does a
Lua-scripted read plus gRPC, protobuf and logging on top of one Redis round trip).

Run: PYTHONPATH=build/gen:libs:services:plugins .venv/bin/python benchmarks/prompt_resolve.py
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

import redis.asyncio as redis
from _harness import closed_loop, start_service
from grpc_health.v1 import health_pb2, health_pb2_grpc

from llmops.v1 import prompt_registry_pb2 as pb
from llmops_sdk import PromptCache, PromptRegistryClient
from llmops_stack._process import free_port, stop_pid
from llmops_stack.redis_server import start_redis


async def main(seconds: float, concurrency: int, log_level: str) -> None:
    folder = Path(tempfile.mkdtemp())
    redis_port = free_port()
    redis_process = await start_redis(redis_port, folder, log_path=folder / "redis.log")
    url = f"redis://127.0.0.1:{redis_port}/0"
    registry, address = await start_service(
        "prompt_registry.main", {"LLMOPS_REDIS__URL": url, "LLMOPS_LOG_LEVEL": log_level}
    )
    try:
        async with PromptRegistryClient(address) as client:
            content = pb.PromptContent(
                type=pb.PROMPT_TYPE_TEXT, template="Answer: {{question}}", variables=["question"]
            )
            await client.rpc.CreatePromptVersion(
                pb.CreatePromptVersionRequest(name="bench/p", content=content)
            )
            await client.rpc.SetLabel(
                pb.SetLabelRequest(name="bench/p", label="production", version=1)
            )
            request = pb.ResolvePromptRequest(name="bench/p", label="production")

            direct = redis.Redis.from_url(url)
            await direct.set("bench:key", b"x" * 300)
            baseline = await closed_loop(
                "redis-py GET (baseline)",
                lambda: direct.get("bench:key"),
                concurrency=concurrency,
                seconds=seconds,
            )
            await direct.aclose()
            health_request = health_pb2.HealthCheckRequest()
            health = health_pb2_grpc.HealthStub(client.channel)
            floor = await closed_loop(
                "Health.Check (gRPC floor)",
                lambda: health.Check(health_request),
                concurrency=concurrency,
                seconds=seconds,
            )
            rpc = await closed_loop(
                "ResolvePrompt RPC",
                lambda: client.rpc.ResolvePrompt(request),
                concurrency=concurrency,
                seconds=seconds,
            )

            cache = PromptCache(client, ttl=3600)
            await cache.resolve("bench/p", label="production")
            cached = await closed_loop(
                "PromptCache.resolve (cached)",
                lambda: cache.resolve("bench/p", label="production"),
                concurrency=1,
                seconds=min(seconds, 2.0),
            )
            await cache.close()
    finally:
        stop_pid(registry.pid)
        redis_process.stop()

    print(f"concurrency {concurrency}, {seconds:.0f} s per run, registry log level {log_level}")
    for run in (baseline, floor, rpc, cached):
        print(run.line())
    print(f"ResolvePrompt / redis-py GET throughput ratio: {rpc.rate / baseline.rate:.2f}")
    print(f"ResolvePrompt / Health.Check (same server, no work) ratio: {rpc.rate / floor.rate:.2f}")
    print(
        f"ResolvePrompt p99 {rpc.percentile(99):.2f} ms (target < 5 ms, >= 3,000 req/s); "
        f"cache p99 {cached.percentile(99) * 1000:.1f} us (target < 1 ms)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--log-level", default="INFO", help="the registry's log level")
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.concurrency, args.log_level))
