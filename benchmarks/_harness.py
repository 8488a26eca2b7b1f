"""Shared pieces of the benchmark scripts: timing loops, percentiles, servers as processes."""

from __future__ import annotations

import asyncio
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from llmops_sdk import check_health
from llmops_stack._process import child_python_path, free_port, stop_pid

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Run:
    name: str
    requests: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(int(p / 100 * len(ordered)), len(ordered) - 1)]

    def line(self) -> str:
        return (
            f"{self.name:<34} {self.rate:>9,.0f} req/s   p50 {self.percentile(50):6.3f} ms   "
            f"p99 {self.percentile(99):6.3f} ms   mean {statistics.fmean(self.latencies_ms):6.3f} ms"
        )


async def closed_loop(
    name: str, call: Callable[[], Awaitable[object]], *, concurrency: int, seconds: float
) -> Run:
    """``concurrency`` workers calling ``call`` back to back for ``seconds`` (after a warm-up)."""
    for _ in range(50):
        await call()
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            await call()
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Run(name, len(latencies), time.perf_counter() - started, latencies)


async def start_service(
    module: str, env: dict[str, str], *, cpus: set[int] | None = None
) -> tuple[subprocess.Popen, str]:
    """Run ``python -m <module>`` as its own process (own GIL, like production); wait for health.

    ``cpus``: the cores it may run on (default: those of this process)."""
    port = free_port()
    name = module.split(".")[0].upper()
    python_path = child_python_path()
    process = subprocess.Popen(
        [sys.executable, "-m", module],
        env={
            **os.environ,
            **env,
            f"LLMOPS_{name}__PORT": str(port),
            "PYTHONPATH": python_path,
            "LLMOPS_LOG_LEVEL": "WARNING",
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
    )
    address = f"127.0.0.1:{port}"
    for _ in range(300):
        if await check_health(address) == "SERVING":
            return process, address
        await asyncio.sleep(0.1)
    stop_pid(process.pid)
    raise RuntimeError(f"{module} did not start")


def h2load_unary(
    address: str, method: str, request_bytes: bytes, *, requests: int, clients: int, streams: int
) -> Run:
    """Load a unary gRPC method with h2load (nghttp2's C load generator), so that the client
    costs little CPU and the server's own capacity shows. Latencies come from its log file."""
    folder = Path(tempfile.mkdtemp())
    body = folder / "body.bin"
    body.write_bytes(b"\x00" + struct.pack(">I", len(request_bytes)) + request_bytes)
    log = folder / "requests.log"
    command = [
        "h2load",
        "-n",
        str(requests),
        "-c",
        str(clients),
        "-m",
        str(streams),
        "-d",
        str(body),
        "-H",
        "content-type: application/grpc",
        "-H",
        "te: trailers",
        f"--log-file={log}",
        f"http://{address}/{method}",
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    finished = next(line for line in output.splitlines() if line.startswith("finished in"))
    seconds = float(finished.split()[2].rstrip("s,"))
    rows = [line.split("\t") for line in log.read_text().splitlines() if line]
    if any(row[1] != "200" for row in rows):
        raise RuntimeError(f"h2load saw non-200 answers: {output}")
    latencies = [int(row[2]) / 1000 for row in rows]
    return Run(
        f"{method.rsplit('/', 1)[-1]} (h2load, {clients}x{streams})", len(rows), seconds, latencies
    )
