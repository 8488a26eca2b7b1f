"""A service as its own process: health over a real socket, JSON logs, graceful SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys

from llmops_sdk import check_health
from llmops_stack._process import free_port


async def test_a_service_process_serves_then_stops_gracefully_on_sigterm(tmp_path):
    port = free_port()
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(os.path.abspath(p) for p in sys.path if p),
        LLMOPS_GUARDRAILS__PORT=str(port),
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "guardrails.main"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        for _ in range(150):
            if await check_health(f"127.0.0.1:{port}") == "SERVING":
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the guardrails process never reported SERVING")
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=15)
    finally:
        process.kill()
    assert process.returncode == 0
    events = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert [e["event"] for e in events if e["event"] in ("serving", "stopped")] == [
        "serving",
        "stopped",
    ]
    assert all(e["service"] == "guardrails" for e in events)
    assert await check_health(f"127.0.0.1:{port}") == "UNREACHABLE"


async def test_workers_share_the_port_and_stop_together(tmp_path):
    port = free_port()
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(os.path.abspath(p) for p in sys.path if p),
        LLMOPS_GUARDRAILS__PORT=str(port),
        LLMOPS_GUARDRAILS__WORKERS="2",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "guardrails.main"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        for _ in range(150):
            if await check_health(f"127.0.0.1:{port}") == "SERVING":
                break
            await asyncio.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
    finally:
        process.kill()
    events = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert [e["event"] for e in events].count("serving") == 2
    assert [e["event"] for e in events].count("stopped") == 2
    assert process.returncode == 0
    assert await check_health(f"127.0.0.1:{port}") == "UNREACHABLE"
