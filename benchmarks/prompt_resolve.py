"""Prompt resolution speed: the ResolvePrompt RPC on a real Redis, and the SDK cache.

Measured in the same run, beside it:
- a redis-py GET loop at the same concurrency against the same Redis (the baseline: the
  registry does one Lua-scripted Redis read plus gRPC, protobuf and instrumentation);
- Health.Check on the same registry (the gRPC floor: the server with no work to do);
- with h2load installed (Debian's nghttp2-client), the RPC driven by a C load generator,
  so that the Python client's own CPU does not cap what the server shows.

Run: PYTHONPATH=build/gen:libs:services:plugins .venv/bin/python benchmarks/prompt_resolve.py
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
from pathlib import Path

import redis.asyncio as redis
from _harness import closed_loop, h2load_unary, start_service
from grpc_health.v1 import health_pb2, health_pb2_grpc

from llmops.v1 import prompt_registry_pb2 as pb
from llmops_sdk import PromptCache, PromptRegistryClient
from llmops_stack._process import free_port, stop_pid
from llmops_stack.redis_server import start_redis

METHOD = "llmops.v1.PromptRegistryService/ResolvePrompt"


async def main(seconds: float, concurrency: int, workers: int) -> None:
    folder = Path(tempfile.mkdtemp())
    redis_port = free_port()
    redis_process = await start_redis(redis_port, folder, log_path=folder / "redis.log")
    url = f"redis://127.0.0.1:{redis_port}/0"
    registry, address = await start_service(
        "prompt_registry.main",
        {"LLMOPS_REDIS__URL": url, "LLMOPS_PROMPT_REGISTRY__WORKERS": str(workers)},
    )
    runs = []
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
            runs.append(
                await closed_loop(
                    "redis-py GET (baseline)",
                    lambda: direct.get("bench:key"),
                    concurrency=concurrency,
                    seconds=seconds,
                )
            )
            await direct.aclose()
            health = health_pb2_grpc.HealthStub(client.channel)
            health_request = health_pb2.HealthCheckRequest()
            runs.append(
                await closed_loop(
                    "Health.Check (gRPC floor)",
                    lambda: health.Check(health_request),
                    concurrency=concurrency,
                    seconds=seconds,
                )
            )
            rpc = await closed_loop(
                "ResolvePrompt RPC (Python client)",
                lambda: client.rpc.ResolvePrompt(request),
                concurrency=concurrency,
                seconds=seconds,
            )
            runs.append(rpc)
            if shutil.which("h2load"):
                fast = await asyncio.to_thread(
                    h2load_unary,
                    address,
                    METHOD,
                    request.SerializeToString(),
                    requests=int(3000 * seconds),
                    clients=8,
                    streams=1,
                )
                runs.append(fast)
            cache = PromptCache(client, ttl=3600)
            await cache.resolve("bench/p", label="production")
            cached = await closed_loop(
                "PromptCache.resolve (cached)",
                lambda: cache.resolve("bench/p", label="production"),
                concurrency=1,
                seconds=min(seconds, 2.0),
            )
            runs.append(cached)
            await cache.close()
    finally:
        stop_pid(registry.pid)
        redis_process.stop()

    print(f"{concurrency} concurrent callers, {seconds:.0f} s per run, registry workers {workers}")
    for run in runs:
        print(run.line())
    baseline, floor, best = runs[0], runs[1], runs[-2]
    print(f"ResolvePrompt / redis-py GET throughput ratio: {best.rate / baseline.rate:.2f}")
    print(f"ResolvePrompt / Health.Check (same server, no work): {rpc.rate / floor.rate:.2f}")
    print(
        f"ResolvePrompt: {best.rate:,.0f} req/s, p99 {best.percentile(99):.2f} ms "
        f"(target >= 3,000 req/s, p99 < 5 ms); cache p99 "
        f"{cached.percentile(99) * 1000:.1f} us (target < 1 ms)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="registry worker processes")
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.concurrency, args.workers))
