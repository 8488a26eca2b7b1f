"""Latency of the `guard` computation at 64 and 512 tokens: in-process, one thread, and
(with --triton URL) through the local Triton server from a gRPC client.

    OMP_NUM_THREADS=1 .venv-models/bin/python guard-models/bench_guard.py [--triton 127.0.0.1:8001]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from llmops_guard_models import GuardHeads  # noqa: E402

TEXT = (
    "Please summarise the following quarterly report about revenue growth in Europe, "
    "the new office in Lisbon and the risks the board discussed in March. "
)


def text_of(heads: GuardHeads, tokens: int) -> str:
    words = (TEXT * (tokens // 10 + 2)).split()
    lo, hi = 1, len(words)
    while lo < hi:  # the longest prefix with at most `tokens` MiniLM tokens
        mid = (lo + hi + 1) // 2
        if heads.analyze([" ".join(words[:mid])])["num_input_tokens"][0] <= tokens:
            lo = mid
        else:
            hi = mid - 1
    return " ".join(words[:lo])


def percentiles(call, rounds: int, clock=time.perf_counter) -> tuple[float, float]:
    for _ in range(20):
        call()
    times = []
    for _ in range(rounds):
        start = clock()
        call()
        times.append(clock() - start)
    return float(np.percentile(times, 50) * 1e3), float(np.percentile(times, 99) * 1e3)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--artifacts", type=Path, nargs="+", default=[HERE / "artifacts" / "injection"])
    p.add_argument("--encoder", type=Path)
    p.add_argument("--triton", help="gRPC address of a model server hosting `guard`")
    p.add_argument("--rounds", type=int, default=500)
    args = p.parse_args()
    heads = GuardHeads.load(args.artifacts, args.encoder)
    for tokens in (64, 512):
        text = text_of(heads, tokens)
        p50, p99 = percentiles(lambda t=text: heads.analyze([t]), args.rounds)
        print(f"in-process {tokens} tokens: p50 {p50:.2f} ms, p99 {p99:.2f} ms (wall)")
        # CPU time of this thread: what the call costs on an idle core, whatever the load.
        p50, p99 = percentiles(lambda t=text: heads.analyze([t]), args.rounds, time.thread_time)
        print(f"in-process {tokens} tokens: p50 {p50:.2f} ms, p99 {p99:.2f} ms (thread CPU)")
        if args.triton:
            import tritonclient.grpc as grpcclient

            client = grpcclient.InferenceServerClient(args.triton)
            data = np.array([[text.encode()]], dtype=np.object_)
            tensor = grpcclient.InferInput("text", [1, 1], "BYTES")
            tensor.set_data_from_numpy(data)
            p50, p99 = percentiles(lambda c=client, x=tensor: c.infer("guard", [x]), args.rounds)
            print(f"through Triton {tokens} tokens: p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
