"""A service as its own process: health over a real socket, JSON logs, graceful SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys

from llmops_sdk import check_health
from llmops_stack._process import child_python_path, free_port


async def _serve_then_sigterm(
    tmp_path, port: int, *, servers: int = 1, **env: str
) -> tuple[int, list[dict]]:
    """Run `python -m guardrails.main` until ``servers`` processes log that they serve and
    health says SERVING, then SIGTERM it; returns its exit code and log events."""
    process = subprocess.Popen(
        [sys.executable, "-m", "guardrails.main"],
        env=dict(
            os.environ, PYTHONPATH=child_python_path(), LLMOPS_GUARDRAILS__PORT=str(port), **env
        ),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        while sum('"serving"' in line for line in lines) < servers:
            line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), 15)
            assert line, "the guardrails process exited before serving:\n" + "".join(lines)
            lines.append(line)
        for _ in range(150):
            if await check_health(f"127.0.0.1:{port}") == "SERVING":
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the guardrails process never reported SERVING")
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
    finally:
        process.kill()
    output = "".join(lines) + output
    events = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return process.returncode, events


async def test_a_service_process_serves_then_stops_gracefully_on_sigterm(tmp_path):
    port = free_port()
    code, events = await _serve_then_sigterm(tmp_path, port)
    assert code == 0
    assert [e["event"] for e in events if e["event"] in ("serving", "stopped")] == [
        "serving",
        "stopped",
    ]
    assert all(e["service"] == "guardrails" for e in events)
    assert await check_health(f"127.0.0.1:{port}") == "UNREACHABLE"


async def test_workers_share_the_port_and_stop_together(tmp_path):
    port = free_port()
    code, events = await _serve_then_sigterm(
        tmp_path, port, servers=2, LLMOPS_GUARDRAILS__WORKERS="2"
    )
    assert [e["event"] for e in events].count("serving") == 2
    assert [e["event"] for e in events].count("stopped") == 2
    assert code == 0
    assert await check_health(f"127.0.0.1:{port}") == "UNREACHABLE"
