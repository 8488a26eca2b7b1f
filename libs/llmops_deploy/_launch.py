"""Launching a rendered deployment: check the machine first, then run the launch script.

Nothing is started unless every check passes; on a machine without NVIDIA GPUs or without
Triton's TensorRT-LLM backend the checks say exactly that.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from llmops_core.errors import FailedPreconditionError
from llmops_deploy._deployment import Deployment
from llmops_deploy._scripts import TENSORRTLLM_BACKEND


def preflight(deployment: Deployment, deploy_dir: Path, instance: int = 0) -> list[str]:
    """Every reason the instance cannot start here (empty: ready)."""
    plan, serving = deployment.plan, deployment.serving
    problems = []
    needed = len(plan.instance_gpu_ids(instance))
    if shutil.which("nvidia-smi") is None:
        problems.append(
            "no NVIDIA GPU here: nvidia-smi is not on PATH (launch on the GPU machine, with the "
            "NVIDIA driver installed)"
        )
    else:
        listed = subprocess.run(
            ["nvidia-smi", "--list-gpus"], capture_output=True, text=True, check=False
        )
        gpus = [line for line in listed.stdout.splitlines() if line.startswith("GPU ")]
        top = max(plan.instance_gpu_ids(instance), default=0)
        if len(gpus) < needed or top >= len(gpus):
            problems.append(
                f"instance {instance} uses GPUs {plan.instance_gpu_ids(instance)}; nvidia-smi "
                f"lists {len(gpus)}"
            )
    if not Path(serving.tritonserver).is_file():
        problems.append(
            f"no tritonserver at {serving.tritonserver}: run in {serving.image} (or set "
            "serving.tritonserver)"
        )
    if serving.flavour == "ensemble" and not Path(TENSORRTLLM_BACKEND).is_file():
        problems.append(
            f"Triton has no TensorRT-LLM backend here ({TENSORRTLLM_BACKEND} is missing): "
            f"run in {serving.image}"
        )
    if shutil.which("mpirun") is None:
        problems.append("mpirun is not on PATH (Open MPI ships in the TensorRT-LLM image)")
    problems += _rendered(deployment, deploy_dir, instance)
    return problems


def _rendered(deployment: Deployment, deploy_dir: Path, instance: int) -> list[str]:
    manifest = deploy_dir / "plan.json"
    if not manifest.is_file():
        return [f"{deploy_dir} holds no rendered deployment: run `llmops deploy render` first"]
    rendered = json.loads(manifest.read_text())
    if rendered.get("plan") != deployment.plan.model_dump(mode="json") or rendered.get(
        "serving"
    ) != deployment.serving.model_dump(mode="json"):
        return [f"{deploy_dir} was rendered from another plan: render again with --force"]
    problems = []
    if deployment.serving.flavour == "ensemble":
        engine = Path(deployment.serving.engine_dir)
        missing = [
            rank
            for rank in range(deployment.plan.world_size)
            if not (engine / f"rank{rank}.engine").is_file()
        ]
        if missing:
            problems.append(
                f"no engine for ranks {missing} in {engine}: run scripts/build_engine.sh first"
            )
        python_models = ("preprocessing", "postprocessing", "tensorrt_llm_bls")
    else:
        python_models = ("tensorrt_llm",)
    absent = [
        m
        for m in python_models
        if not (deploy_dir / "model_repository" / m / "1" / "model.py").is_file()
    ]
    if absent:
        problems.append(
            f"no model.py for {', '.join(absent)}: run scripts/install_model_code.sh first"
        )
    if not (deploy_dir / "scripts" / f"launch-{instance}.sh").is_file():
        problems.append(
            f"no scripts/launch-{instance}.sh: the plan has {deployment.plan.instances} instances"
        )
    return problems


def execute(deployment: Deployment, deploy_dir: Path, instance: int = 0) -> int:
    """Run the instance's launch script in the foreground, after the checks pass."""
    problems = preflight(deployment, deploy_dir, instance)
    if problems:
        raise FailedPreconditionError(
            "cannot launch here:\n  - " + "\n  - ".join(problems), reason="LAUNCH_PRECONDITION"
        )
    script = deploy_dir / "scripts" / f"launch-{instance}.sh"
    return subprocess.run(["bash", str(script)], check=False).returncode
