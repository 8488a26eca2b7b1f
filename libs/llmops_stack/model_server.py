"""The local Triton model server (deploy/local/model_server), started in its own virtualenv."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tritonclient.grpc.aio import InferenceServerClient

from llmops_stack._paths import models_python, repo_root
from llmops_stack._process import ManagedProcess, start_process, wait_until

LLM_MODEL = "ensemble"
EMBEDDING_MODEL = "minilm"
GUARD_MODEL = "guard"  # the trained heads behind the input checks
GROUNDEDNESS_MODEL = "groundedness"
ALL_MODELS = (LLM_MODEL, EMBEDDING_MODEL, GUARD_MODEL, GROUNDEDNESS_MODEL)


@dataclass(frozen=True)
class TritonPorts:
    grpc: int = 8001
    http: int = 8000
    metrics: int = 8002

    @property
    def grpc_url(self) -> str:
        return f"127.0.0.1:{self.grpc}"


def server_script() -> Path:
    return repo_root() / "deploy/local/model_server/serve.py"


def models_installed() -> bool:
    return models_python().exists() and server_script().exists()


async def models_ready(url: str, models: tuple[str, ...] = ALL_MODELS) -> bool:
    client = InferenceServerClient(url)
    try:
        for model in models:
            if not await client.is_model_ready(model, client_timeout=1.0):
                return False
        return True
    except Exception:  # noqa: BLE001 - not listening yet, or models still loading
        return False
    finally:
        await client.close()


async def start_model_server(
    ports: TritonPorts,
    *,
    log_path: Path,
    timeout: float = 240.0,
    extra_args: Sequence[str] = (),
) -> ManagedProcess:
    """Start tritonserver with SmolLM2, MiniLM and the guard models; wait until all are ready.

    `extra_args` go to serve.py (e.g. `--paced-model paced` for benchmarks)."""
    if not models_installed():
        raise RuntimeError(
            f"the model server is not installed ({models_python()} missing): run "
            "deploy/local/setup-models.sh (./llmops up runs it)"
        )
    process = start_process(
        "triton",
        [
            str(models_python()),
            str(server_script()),
            "--grpc-port",
            str(ports.grpc),
            "--http-port",
            str(ports.http),
            "--metrics-port",
            str(ports.metrics),
            "--address",
            "127.0.0.1",
            *extra_args,
        ],
        log_path=log_path,
        env={"PYTHONUNBUFFERED": "1"},
    )
    if not await wait_until(
        lambda: models_ready(ports.grpc_url), timeout=timeout, process=process, interval=0.5
    ):
        tail = process.log_tail()
        process.stop()
        raise RuntimeError(f"Triton did not become ready; see {log_path}:\n{tail}")
    return process
