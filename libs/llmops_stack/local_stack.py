"""The local stack behind ``llmops up|down|status``: Redis, the Triton model server, six services.

Every part is reused when something already answers on its address (so ``up`` is
idempotent and works beside a Redis or Triton you run yourself); what ``up``
starts gets a pid file and a log under ``.llmops/``, and ``down`` stops only that.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlparse

from llmops_core import Settings
from llmops_sdk import check_health
from llmops_stack._paths import repo_root
from llmops_stack._process import (
    ManagedProcess,
    child_python_path,
    pid_alive,
    start_process,
    stop_pid,
    wait_until,
)
from llmops_stack.model_server import TritonPorts, models_ready, start_model_server
from llmops_stack.redis_server import redis_answers, start_redis

# Start order matters only for the gateway, which needs the others' addresses (not their health).
SERVICES = ("prompt_registry", "retrieval", "guardrails", "monitoring", "inference", "gateway")
MODULES = {name: f"{name}.main" for name in SERVICES}
SERVICE_TIMEOUT = 60.0


@dataclass
class PartStatus:
    """One part of the stack as ``status`` and ``up`` report it."""

    name: str
    address: str
    status: str  # SERVING | UNREACHABLE | NOT_SERVING | STARTED | REUSED | FAILED
    managed: bool = False  # started by llmops (has a pid file)
    pid: int | None = None
    log: str = ""
    seconds: float = 0.0
    detail: str = ""

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v not in (None, "")}


Progress = Callable[[PartStatus], None]


class StackError(RuntimeError):
    def __init__(self, part: PartStatus) -> None:
        super().__init__(f"{part.name} failed to start: {part.detail} (log: {part.log})")
        self.part = part


class LocalStack:
    def __init__(self, settings: Settings, *, config_path: str | None = None) -> None:
        self.settings = settings
        self.config_path = config_path
        self.state = (
            settings.state_dir
            if settings.state_dir.is_absolute()
            else repo_root() / settings.state_dir
        )
        self.state.mkdir(parents=True, exist_ok=True)
        self.run_dir = self.state / "run"
        self.log_dir = self.state / "logs"
        self.run_dir.mkdir(exist_ok=True)
        self.log_dir.mkdir(exist_ok=True)

    # --- up ------------------------------------------------------------------------------

    async def up(self, progress: Progress = lambda part: None) -> list[PartStatus]:
        """Start whatever is not running; raise StackError naming the first part that failed."""
        parts = [await self._up_redis()]
        progress(parts[-1])
        triton = asyncio.create_task(self._up_triton())
        services = [asyncio.create_task(self._up_service(name)) for name in SERVICES]
        for task in [*services, triton]:
            part = await task
            progress(part)
            parts.append(part)
        failed = [p for p in parts if p.status == "FAILED"]
        if failed:
            raise StackError(failed[0])
        return parts

    async def _up_redis(self) -> PartStatus:
        url = self.settings.redis.url
        started = time.monotonic()
        if await redis_answers(url):
            return PartStatus("redis", url, "REUSED", managed=self._pid("redis") is not None)
        port = urlparse(url).port or 6379
        log = self.log_dir / "redis.log"
        try:
            process = await start_redis(port, self.state / "redis", log_path=log)
        except RuntimeError as exc:
            return PartStatus("redis", url, "FAILED", log=str(log), detail=str(exc))
        self._write_pid(process)
        return PartStatus(
            "redis", url, "STARTED", True, process.pid, str(log), time.monotonic() - started
        )

    async def _up_triton(self) -> PartStatus:
        endpoint = self.settings.triton.endpoints[0]
        started = time.monotonic()
        if await models_ready(endpoint):
            return PartStatus("triton", endpoint, "REUSED", managed=self._pid("triton") is not None)
        host, _, port = endpoint.rpartition(":")
        if host not in ("127.0.0.1", "localhost"):
            return PartStatus(
                "triton",
                endpoint,
                "FAILED",
                detail="the configured Triton is remote and does not answer",
            )
        log = self.log_dir / "triton.log"
        triton = self.settings.triton
        ports = TritonPorts(int(port), triton.local_http_port, triton.local_metrics_port)
        try:
            process = await start_model_server(ports, log_path=log)
        except RuntimeError as exc:
            return PartStatus(
                "triton", endpoint, "FAILED", log=str(log), detail=str(exc).splitlines()[0]
            )
        self._write_pid(process)
        return PartStatus(
            "triton", endpoint, "STARTED", True, process.pid, str(log), time.monotonic() - started
        )

    async def _up_service(self, name: str) -> PartStatus:
        address = getattr(self.settings, name).address
        label = name.replace("_", "-")
        started = time.monotonic()
        if await check_health(address) == "SERVING":
            return PartStatus(label, address, "REUSED", managed=self._pid(label) is not None)
        log = self.log_dir / f"{label}.log"
        env = {
            "PYTHONPATH": child_python_path(),
            "LLMOPS_HOME": str(repo_root()),
            "PYTHONUNBUFFERED": "1",
        }
        if self.config_path:
            env["LLMOPS_CONFIG"] = str(Path(self.config_path).resolve())
        process = start_process(
            label, [sys.executable, "-m", MODULES[name]], log_path=log, env=env, cwd=repo_root()
        )
        self._write_pid(process)

        async def serving() -> bool:
            return await check_health(address) == "SERVING"

        if not await wait_until(serving, timeout=SERVICE_TIMEOUT, process=process, interval=0.2):
            detail = (
                "exited" if not process.alive() else f"not healthy after {SERVICE_TIMEOUT:.0f} s"
            )
            tail = process.log_tail(5)
            process.stop()
            self._pid_file(label).unlink(missing_ok=True)
            return PartStatus(label, address, "FAILED", log=str(log), detail=f"{detail}: {tail}")
        return PartStatus(
            label, address, "STARTED", True, process.pid, str(log), time.monotonic() - started
        )

    # --- down / status ---------------------------------------------------------------------

    def down(self) -> list[PartStatus]:
        """Stop every part ``up`` started (gateway first, Redis last)."""
        stopped = []
        for label in ["gateway", *[s.replace("_", "-") for s in SERVICES[:-1]], "triton", "redis"]:
            pid = self._pid(label)
            if pid is None:
                continue
            stop_pid(pid)
            self._pid_file(label).unlink(missing_ok=True)
            stopped.append(PartStatus(label, "", "STOPPED", True, pid))
        return stopped

    async def status(self) -> list[PartStatus]:
        redis_url = self.settings.redis.url
        parts = [
            PartStatus(
                "redis",
                redis_url,
                "SERVING" if await redis_answers(redis_url) else "UNREACHABLE",
                self._pid("redis") is not None,
                self._pid("redis"),
            )
        ]
        endpoint = self.settings.triton.endpoints[0]
        parts.append(
            PartStatus(
                "triton",
                endpoint,
                "SERVING" if await models_ready(endpoint) else "UNREACHABLE",
                self._pid("triton") is not None,
                self._pid("triton"),
            )
        )
        for name in SERVICES:
            label = name.replace("_", "-")
            address = getattr(self.settings, name).address
            parts.append(
                PartStatus(
                    label,
                    address,
                    await check_health(address),
                    self._pid(label) is not None,
                    self._pid(label),
                    str(self.log_dir / f"{label}.log"),
                )
            )
        return parts

    # --- pid files ---------------------------------------------------------------------------

    def _pid_file(self, label: str) -> Path:
        return self.run_dir / f"{label}.pid"

    def _write_pid(self, process: ManagedProcess) -> None:
        self._pid_file(process.name).write_text(str(process.pid))

    def _pid(self, label: str) -> int | None:
        try:
            pid = int(self._pid_file(label).read_text())
        except (OSError, ValueError):
            return None
        return pid if pid_alive(pid) else None
