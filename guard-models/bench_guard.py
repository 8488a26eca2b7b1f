"""Latency of the guard models: the `guard` computation at 64 and 512 tokens in-process
(one thread), and with --triton one call of `guard` (64, 512 tokens) and of `groundedness`
(a ~100-token answer against four ~200-token passages) from the gRPC asyncio client.

    OMP_NUM_THREADS=1 .venv-models/bin/python guard-models/bench_guard.py \
        [--triton 127.0.0.1:8001] [--triton before=127.0.0.1:9001 --triton after=...]

Several servers are measured in the same run, their calls interleaved, so that each sees
the same load on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from llmops_guard_models import GuardHeads  # noqa: E402

TEXT = (
    "Please summarise the following quarterly report about revenue growth in Europe, "
    "the new office in Lisbon and the risks the board discussed in March. "
)
PASSAGES = (
    "The Lisbon office opened in February with forty engineers from the payments team. ",
    "Revenue in Europe grew by twelve percent, led by Germany, Spain and the Netherlands. ",
    "The board discussed currency risk, a delayed product launch and rising cloud costs. ",
    "Hiring slowed in the second half of the year while support tickets fell by a third. ",
)
ANSWER = (
    "Revenue in Europe grew by twelve percent and the Lisbon office opened in February. "
    "The board also approved a new office in Tokyo with two hundred engineers. "
)


def text_of(heads: GuardHeads, tokens: int, base: str = TEXT) -> str:
    words = (base * (tokens // 10 + 2)).split()
    lo, hi = 1, len(words)
    while lo < hi:  # the longest prefix with at most `tokens` MiniLM tokens
        mid = (lo + hi + 1) // 2
        if heads.analyze([" ".join(words[:mid])])["num_input_tokens"][0] <= tokens:
            lo = mid
        else:
            hi = mid - 1
    return " ".join(words[:lo])


def percentiles(times: list[float]) -> str:
    p50, p99 = np.percentile(times, 50) * 1e3, np.percentile(times, 99) * 1e3
    return f"p50 {p50:.2f} ms, p99 {p99:.2f} ms"


def in_process(call: Callable[[], object], rounds: int, clock=time.perf_counter) -> list[float]:
    for _ in range(20):
        call()
    times = []
    for _ in range(rounds):
        start = clock()
        call()
        times.append(clock() - start)
    return times


def _input(name: str, text: str):
    import tritonclient.grpc.aio as grpcclient

    tensor = grpcclient.InferInput(name, [1, 1], "BYTES")
    tensor.set_data_from_numpy(np.array([[text.encode()]], dtype=np.object_))
    return tensor


async def through_triton(
    servers: dict[str, str], cases: dict[str, tuple[str, dict[str, str]]], rounds: int
) -> dict[tuple[str, str], list[float]]:
    """Per (server, case): the wall time of one call, the servers taking turns."""
    import tritonclient.grpc.aio as grpcclient

    clients = {label: grpcclient.InferenceServerClient(url) for label, url in servers.items()}
    calls: dict[tuple[str, str], Callable[[], Awaitable[object]]] = {}
    for label, client in clients.items():
        for case, (model, inputs) in cases.items():
            tensors = [_input(name, text) for name, text in inputs.items()]
            calls[label, case] = lambda c=client, m=model, t=tensors: c.infer(m, t)
    times: dict[tuple[str, str], list[float]] = {key: [] for key in calls}
    try:
        for call in calls.values():
            for _ in range(20):
                await call()
        for i in range(rounds):
            order = list(calls.items())
            for key, call in order if i % 2 else reversed(order):
                start = time.perf_counter()
                await call()
                times[key].append(time.perf_counter() - start)
    finally:
        for client in clients.values():
            await client.close()
    return times


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--artifacts", type=Path, nargs="+", default=[HERE / "artifacts" / "injection"])
    p.add_argument("--encoder", type=Path)
    p.add_argument(
        "--triton",
        action="append",
        default=[],
        metavar="[LABEL=]URL",
        help="gRPC address of a model server hosting `guard` and `groundedness` (repeatable)",
    )
    p.add_argument("--rounds", type=int, default=500)
    args = p.parse_args()
    heads = GuardHeads.load(args.artifacts, args.encoder)
    texts = {tokens: text_of(heads, tokens) for tokens in (64, 512)}
    for tokens, text in texts.items():
        times = in_process(lambda t=text: heads.analyze([t]), args.rounds)
        print(f"in-process {tokens} tokens: {percentiles(times)} (wall)")
        # CPU time of this thread: what the call costs on an idle core, whatever the load.
        times = in_process(lambda t=text: heads.analyze([t]), args.rounds, time.thread_time)
        print(f"in-process {tokens} tokens: {percentiles(times)} (thread CPU)")
    if not args.triton:
        return 0
    servers = dict(s.split("=", 1) if "=" in s else (s, s) for s in args.triton)
    passages = [text_of(heads, 200, base) for base in PASSAGES]
    cases = {f"guard {tokens} tokens": ("guard", {"text": t}) for tokens, t in texts.items()}
    cases["groundedness 100-token answer, 4 x 200-token passages"] = (
        "groundedness",
        {
            "answer": text_of(heads, 100, ANSWER),
            "context": json.dumps(passages),
            "question": "How did the European business do?",
        },
    )
    times = asyncio.run(through_triton(servers, cases, args.rounds))
    for (label, case), values in times.items():
        print(f"through Triton [{label}] {case}: {percentiles(values)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
