"""The llmops command as a user runs it: up, status, chat, up again, down, all with --json.

The stack runs as real processes (six services) on free ports, with the test's Redis
and Triton, its state (pid files, logs) in a temporary folder.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest
import yaml

from llmops_stack._process import child_python_path, free_port

pytestmark = pytest.mark.slow
SERVICES = ["prompt-registry", "retrieval", "guardrails", "monitoring", "inference", "gateway"]


@pytest.fixture
def config(tmp_path, redis_url, triton_url):
    data = {
        "data_dir": str(tmp_path / "data"),
        "state_dir": str(tmp_path / "state"),
        "redis": {"url": redis_url},
        "triton": {"endpoints": [triton_url]},
    }
    for service in (
        "gateway",
        "prompt_registry",
        "retrieval",
        "guardrails",
        "monitoring",
        "inference",
    ):
        data[service] = {"port": free_port()}
    path = tmp_path / "llmops.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def llmops(config, *args: str, timeout: float = 300) -> tuple[int, dict]:
    env = dict(os.environ, PYTHONPATH=child_python_path())
    done = subprocess.run(
        [sys.executable, "-m", "llmops_cli", "--json", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    try:
        return done.returncode, json.loads(done.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"not JSON (rc {done.returncode}):\n{done.stdout}\n{done.stderr}")


def test_up_status_chat_down(config):
    try:
        code, up = llmops(config, "up")
        assert code == 0, up
        states = {p["name"]: p["status"] for p in up["parts"]}
        assert all(states[s] == "STARTED" for s in SERVICES), states
        assert states["redis"] == states["triton"] == "REUSED"
        assert up["seed"]["prompt"] == "rag-answer" and up["seed"]["revision"] > 0

        code, status = llmops(config, "status")
        assert code == 0 and status["healthy"] is True, status

        code, reply = llmops(config, "chat", "What does LLMOps add to MLOps?")
        assert code == 0, reply
        assert reply["answer"] and reply["trace_id"], reply
        # The demo prompt samples (temperature 0.3): an answer the output checks block (a
        # guard's verdict, not a CLI fault) comes without citations, with its decision.
        if reply["outcome"] == "OUTCOME_OK":
            assert reply.get("citations"), reply
        else:
            assert reply["outcome"] == "OUTCOME_BLOCKED_OUTPUT", reply
            assert reply["output_guard"]["action"] == "GUARD_ACTION_BLOCK", reply
        assert reply["prompt"]["name"] == "rag-answer"

        started = time.monotonic()
        code, again = llmops(config, "up")
        assert code == 0 and all(p["status"] == "REUSED" for p in again["parts"]), again
        assert time.monotonic() - started < 15
    finally:
        code, down = llmops(config, "down")
    assert code == 0
    assert sorted(p["name"] for p in down["stopped"]) == sorted(SERVICES)
    code, status = llmops(config, "status")
    assert code == 1 and status["healthy"] is False


def test_up_names_the_part_that_failed_and_its_log(config):
    port = yaml.safe_load(config.read_text())["monitoring"]["port"]
    with socket.socket() as squatter:  # something that is not our service holds the port
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        try:
            code, result = llmops(config, "up")
        finally:
            llmops(config, "down")
    assert code == 1
    assert "monitoring failed to start" in result["error"]
    assert "monitoring.log" in result["error"]


def test_chat_without_a_stack_says_what_is_unreachable(config):
    code, result = llmops(config, "chat", "hello")
    assert code == 1
    assert "UNAVAILABLE" in result["error"] or "unavailable" in result["error"].lower()
