"""Test helpers for command groups: run ``llmops`` as a child process against a served service.

The service runs in the test's process on a free port; the CLI runs as a child process.
The child calls back into the test's event loop, so every run waits in a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from llmops_core import Settings
from llmops_core._server import GrpcServer
from llmops_core.testing import serving
from llmops_stack._process import child_python_path

ENV = dict(os.environ, PYTHONPATH=child_python_path())


class Cli:
    """Runs ``llmops --config <file> <group> ...`` against the test's service."""

    def __init__(self, config: Path, group: str) -> None:
        self.config = config
        self.group = group

    async def run(self, *args: str, as_json: bool = True) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "llmops_cli", "--config", str(self.config)]
        command += ["--json"] if as_json else []
        return await asyncio.to_thread(
            subprocess.run,
            [*command, self.group, *args],
            capture_output=True,
            text=True,
            timeout=120,
            env=ENV,
        )

    async def json(self, *args: str) -> tuple[int, Any]:
        done = await self.run(*args)
        try:
            return done.returncode, json.loads(done.stdout)
        except json.JSONDecodeError:
            pytest.fail(f"not JSON (rc {done.returncode}):\n{done.stdout}\n{done.stderr}")

    async def ok(self, *args: str) -> Any:
        code, data = await self.json(*args)
        assert code == 0, data
        return data


@contextlib.asynccontextmanager
async def cli_against(
    server: GrpcServer, settings: Settings, folder: Path, *, group: str, service: str
) -> AsyncIterator[Cli]:
    """Serve ``server`` and yield a Cli for ``group`` whose config points ``service`` at it."""
    async with serving(server) as address:
        config = folder / "llmops.yaml"
        port = int(address.rsplit(":", 1)[1])
        config.write_text(
            yaml.safe_dump(
                {
                    "data_dir": str(folder / "data"),
                    "redis": {"url": settings.redis.url},
                    service: {"port": port},
                }
            )
        )
        yield Cli(config, group)


def write(path: Path, text: str) -> Path:
    """``text`` into ``path``, its folders made."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
