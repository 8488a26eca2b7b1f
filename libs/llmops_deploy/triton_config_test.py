"""Triton's own verdict on the generated model repositories.

The tritonserver 2.51 that nvidia-pytriton ships (in .venv-models, see deploy/local) parses
every config.pbtxt, normalizes and validates it and, for an ensemble, checks each step's
tensor mapping against the composing models. It has no TensorRT-LLM backend and no GPU,
and NVIDIA's Python model code is not part of this repository (install_model_code.sh takes
it from the TensorRT-LLM release), so:

- the Python models get PLACEHOLDER_MODEL as their 1/model.py, which only lets Triton load
  them and so finish validating their configs;
- ``tensorrt_llm`` must fail exactly at "unable to find backend library for backend
  'tensorrtllm'", after its config was accepted;
- to have Triton validate the ensemble's wiring, a copy of the repository serves
  ``tensorrt_llm``'s unchanged inputs and outputs from a placeholder Python model.

The launch flags are the generated mpirun line's own, rank by rank.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from llmops_deploy import DeploymentPlan, ServingOptions, launch_argv, prepare, render

PLACEHOLDER_MODEL = '''"""Stands in for NVIDIA's model code so that Triton finishes loading the config."""


class TritonPythonModel:
    def initialize(self, args):
        pass

    def execute(self, requests):
        return None
'''
PYTHON_MODELS = ("preprocessing", "postprocessing", "tensorrt_llm_bls")


def _repo_root() -> Path:
    if os.environ.get("LLMOPS_HOME"):
        return Path(os.environ["LLMOPS_HOME"])
    return Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class LocalTriton:
    binary: Path
    backends: Path
    env: dict[str, str]


@pytest.fixture(scope="module")
def triton(tmp_path_factory) -> LocalTriton:
    venv = _repo_root() / ".venv-models"
    sites = sorted(venv.glob("lib/python3.*/site-packages"))
    if not sites or not (sites[0] / "pytriton/tritonserver/bin/tritonserver").is_file():
        pytest.skip(
            "the local Triton is not installed (.venv-models): run deploy/local/setup-models.sh"
        )
    site = sites[0]
    server = site / "pytriton/tritonserver"
    version = site.parent.name.removeprefix("python")
    # The Python backend as PyTriton lays it out at run time: backend + the stub of the
    # venv's Python version; the stub finds the venv's packages through PATH.
    python_backend = tmp_path_factory.mktemp("backends") / "python"
    python_backend.mkdir()
    for item in (server / "backends/python").iterdir():
        if item.is_file():
            shutil.copy(item, python_backend)
    shutil.copy(
        server / f"python_backend_stubs/{version}/triton_python_backend_stub", python_backend
    )
    env = dict(
        os.environ,
        LD_LIBRARY_PATH=str(site / "nvidia_pytriton.libs"),
        PATH=f"{venv / 'bin'}:{os.environ.get('PATH', '')}",
    )
    return LocalTriton(server / "bin/tritonserver", python_backend.parent, env)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _deployment(flavour="ensemble", **serving):
    plan = DeploymentPlan(
        model="llama-3-70b",
        gpu_type="H100-80GB",
        gpu_count=8,
        gpu_ids=[4, 5, 6, 7],
        tensor_parallel=4,
        kv_cache_dtype="fp8",
        max_batch_size=64,
        max_input_len=3072,
        max_seq_len=4096,
        max_num_tokens=8192,
    )
    ports: set[int] = set()
    while len(ports) < 3:  # the OS may hand the same free port out twice in a row
        ports.add(_free_port())
    http, grpc, metrics = sorted(ports)
    options = {"http_port": http, "grpc_port": grpc, "metrics_port": metrics}
    deployment = prepare(plan, ServingOptions(flavour=flavour, **options, **serving))
    assert deployment.valid
    return deployment


def _rendered(deployment, folder: Path) -> Path:
    render(deployment, folder)
    repository = folder / "model_repository"
    for model in PYTHON_MODELS if deployment.serving.flavour == "ensemble" else ("tensorrt_llm",):
        (repository / model / "1" / "model.py").write_text(PLACEHOLDER_MODEL)
    return repository


def _rank_words(deployment, triton: LocalTriton, repository: Path, rank: int) -> list[str]:
    argv = launch_argv(deployment.plan, deployment.serving, 0, str(repository), str(triton.binary))
    ranks, current = [], []
    for word in argv[2:]:  # after mpirun --allow-run-as-root
        if word == ":":
            ranks.append(current)
            current = []
        else:
            current.append(word)
    ranks.append(current)
    assert ranks[rank][:2] == ["-n", "1"]
    return ranks[rank][2:]


@contextmanager
def _running(triton: LocalTriton, words: list[str], log: Path):
    command = [
        *words,
        f"--backend-directory={triton.backends}",
        "--exit-on-error=false",
        "--exit-timeout-secs=5",
    ]
    with log.open("w") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=triton.env, start_new_session=True
        )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the server and its backend stubs
            process.wait()


def _http(port: int, path: str, method: str = "GET"):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", method=method, data=b"" if method == "POST" else None
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        return json.loads(answer.read())


def _index(port: int, models: set[str], timeout: float = 90.0) -> dict[str, dict]:
    """The repository index once every named model has settled (READY or UNAVAILABLE)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            entries = {e["name"]: e for e in _http(port, "/v2/repository/index", "POST")}
            if all(entries.get(m, {}).get("state") in ("READY", "UNAVAILABLE") for m in models):
                return entries
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"Triton did not settle {sorted(models)} in {timeout:.0f} s")
        time.sleep(0.5)


def test_triton_accepts_every_generated_config(triton, tmp_path):
    deployment = _deployment()
    repository = _rendered(deployment, tmp_path / "deploy")
    log = tmp_path / "triton.log"
    with _running(triton, _rank_words(deployment, triton, repository, 0), log):
        index = _index(deployment.serving.http_port, {*PYTHON_MODELS, "tensorrt_llm"})
    text = log.read_text()
    assert "Error parsing text-format" not in text and "Poll failed" not in text, text[-3000:]
    for model in PYTHON_MODELS:
        assert index[model]["state"] == "READY", index[model]
    assert index["tensorrt_llm"]["state"] == "UNAVAILABLE"
    assert index["tensorrt_llm"]["reason"] == (
        "Invalid argument: unable to find backend library for backend 'tensorrtllm', try "
        "specifying runtime on the model configuration."
    )


def test_triton_loads_the_ensemble_over_the_generated_wiring(triton, tmp_path):
    deployment = _deployment()
    repository = _rendered(deployment, tmp_path / "deploy")
    config = repository / "tensorrt_llm" / "config.pbtxt"
    config.write_text(config.read_text().replace('backend: "tensorrtllm"', 'backend: "python"'))
    (repository / "tensorrt_llm" / "1" / "model.py").write_text(PLACEHOLDER_MODEL)
    port = deployment.serving.http_port
    with _running(triton, _rank_words(deployment, triton, repository, 0), tmp_path / "triton.log"):
        index = _index(port, {*PYTHON_MODELS, "tensorrt_llm", "ensemble"})
        ensemble = _http(port, "/v2/models/ensemble/config")
        llm = _http(port, "/v2/models/tensorrt_llm/config")
    assert {name: e["state"] for name, e in index.items()} == dict.fromkeys(
        ("ensemble", "postprocessing", "preprocessing", "tensorrt_llm", "tensorrt_llm_bls"), "READY"
    )
    steps = ensemble["ensemble_scheduling"]["step"]
    assert [s["model_name"] for s in steps] == ["preprocessing", "tensorrt_llm", "postprocessing"]
    assert ensemble["max_batch_size"] == llm["max_batch_size"] == 64
    assert llm["model_transaction_policy"]["decoupled"] is True
    assert llm["parameters"]["gpu_device_ids"]["string_value"] == "0,1,2,3"


def test_a_broken_mapping_is_caught_by_the_same_check(triton, tmp_path):
    """The control: one wrong key in the ensemble, and Triton refuses it."""
    deployment = _deployment()
    repository = _rendered(deployment, tmp_path / "deploy")
    config = repository / "tensorrt_llm" / "config.pbtxt"
    config.write_text(config.read_text().replace('backend: "tensorrtllm"', 'backend: "python"'))
    (repository / "tensorrt_llm" / "1" / "model.py").write_text(PLACEHOLDER_MODEL)
    ensemble = repository / "ensemble" / "config.pbtxt"
    ensemble.write_text(ensemble.read_text().replace('key: "QUERY"', 'key: "QUERIES"', 1))
    log = tmp_path / "triton.log"
    with _running(triton, _rank_words(deployment, triton, repository, 0), log):
        index = _index(deployment.serving.http_port, {*PYTHON_MODELS, "tensorrt_llm"})
    assert "state" not in index["ensemble"]
    assert (
        "in ensemble ensemble, ensemble tensor text_input is mapping to non-existing input "
        "QUERIES in model preprocessing"
    ) in log.read_text()


def test_other_ranks_load_only_tensorrt_llm_and_listen_nowhere(triton, tmp_path):
    deployment = _deployment()
    repository = _rendered(deployment, tmp_path / "deploy")
    config = repository / "tensorrt_llm" / "config.pbtxt"
    config.write_text(config.read_text().replace('backend: "tensorrtllm"', 'backend: "python"'))
    (repository / "tensorrt_llm" / "1" / "model.py").write_text(PLACEHOLDER_MODEL)
    words = _rank_words(deployment, triton, repository, 1)
    log = tmp_path / "rank1.log"
    with _running(triton, words, log) as process:
        deadline = time.monotonic() + 60
        while "successfully loaded 'tensorrt_llm'" not in log.read_text():
            assert process.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        time.sleep(1)
        assert process.poll() is None  # a rank stays up, serving the model to rank 0 via MPI
    text = log.read_text()
    assert re.findall(r'"loading: (\w+):1"', text) == ["tensorrt_llm"]
    for listener in (
        "Started HTTPService",
        "Started GRPCInferenceService",
        "Started Metrics Service",
    ):
        assert listener not in text
    assert 'shm-region-prefix-name":"prefix1_' in text


def test_triton_accepts_the_llmapi_repository(triton, tmp_path):
    deployment = _deployment(flavour="llmapi")
    repository = _rendered(deployment, tmp_path / "deploy")
    port = deployment.serving.http_port
    with _running(triton, _rank_words(deployment, triton, repository, 0), tmp_path / "triton.log"):
        index = _index(port, {"tensorrt_llm"})
        config = _http(port, "/v2/models/tensorrt_llm/config")
    assert index["tensorrt_llm"]["state"] == "READY"
    assert config["model_transaction_policy"]["decoupled"] is True
    assert config["max_batch_size"] == 0
    assert {i["name"] for i in config["input"]} >= {
        "text_input",
        "streaming",
        "sampling_param_max_tokens",
    }


def test_every_launch_flag_is_a_tritonserver_flag(triton):
    deployment = _deployment()
    usage = subprocess.run(
        [str(triton.binary), "--help"], capture_output=True, text=True, env=triton.env, check=False
    )
    help_text = usage.stdout + usage.stderr
    flags = {
        word.split("=", 1)[0]
        for word in launch_argv(deployment.plan, deployment.serving, 0)
        if word.startswith("--") and word != "--allow-run-as-root"  # mpirun's
    }
    assert flags == {
        "--model-repository",
        "--grpc-port",
        "--http-port",
        "--metrics-port",
        "--disable-auto-complete-config",
        "--backend-config",
        "--model-control-mode",
        "--load-model",
        "--allow-http",
        "--allow-grpc",
        "--allow-metrics",
    }
    for flag in flags:
        assert re.search(rf"^\s*{re.escape(flag)}\b", help_text, re.MULTILINE), flag
