"""How a validated plan is served: paths, ports, the Triton repository flavour, the image.

A plan file (YAML) holds the API's ``DeploymentPlan`` under ``plan``, optionally the
model's ``architecture`` (or ``hf_config``, a path to its Hugging Face config.json) for
models the catalog does not know, and these serving options under ``serving``.
"""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from llmops_core.errors import InvalidArgumentError, NotFoundError
from llmops_deploy._catalog import ModelSpec, load_model_spec
from llmops_deploy._models import DeploymentPlan, ModelArchitecture, PlanIssue, Severity
from llmops_deploy._precision import Precision

# The NGC image with Triton, the TensorRT-LLM backend and TensorRT-LLM itself; engines
# must be built with the TensorRT-LLM version of the image that serves them.
DEFAULT_IMAGE = "nvcr.io/nvidia/tritonserver:25.12-trtllm-python-py3"
BLS_GRPC_PORT = 8001


class ServingOptions(BaseModel):
    """Where things live on the GPU machine and how Triton listens."""

    model_config = ConfigDict(extra="forbid")

    # ensemble: engines + preprocessing/tensorrt_llm/postprocessing/ensemble/tensorrt_llm_bls
    # (TensorRT-LLM's inflight_batcher_llm); llmapi: the LLM-API (PyTorch) backend.
    flavour: Literal["ensemble", "llmapi"] = "ensemble"
    image: str = DEFAULT_IMAGE
    hf_model_dir: str = ""  # default /models/hf/<model>
    tokenizer_dir: str = ""  # default hf_model_dir
    work_dir: str = ""  # default /models/trtllm/<model>-tp<tp>-pp<pp>; holds checkpoint/ engine/
    checkpoint_dir: str = ""  # default <work_dir>/checkpoint
    engine_dir: str = ""  # default <work_dir>/engine
    trtllm_src: str = "/opt/TensorRT-LLM"  # a NVIDIA/TensorRT-LLM clone at the image's tag
    tritonserver: str = "/opt/tritonserver/bin/tritonserver"
    grpc_port: int = Field(default=8001, ge=1, le=65535)
    http_port: int = Field(default=8000, ge=1, le=65535)
    metrics_port: int = Field(default=8002, ge=1, le=65535)
    instance_port_offset: int = Field(default=100, ge=0)  # instance i listens on port + i * this
    batch_scheduler_policy: Literal["guaranteed_no_evict", "max_utilization"] = (
        "guaranteed_no_evict"
    )
    enable_kv_cache_reuse: bool = False
    decoupled: bool = True  # streaming responses (the llmops Triton client streams)
    preprocessing_instance_count: int = Field(default=1, ge=1)
    postprocessing_instance_count: int = Field(default=1, ge=1)
    bls_instance_count: int = Field(default=1, ge=1)

    def resolved(self, plan: DeploymentPlan) -> ServingOptions:
        """Defaults that depend on the plan filled in."""
        name = plan.model.rsplit("/", 1)[-1] or "model"
        hf = self.hf_model_dir or f"/models/hf/{name}"
        work = self.work_dir or (
            f"/models/trtllm/{name}-tp{plan.tensor_parallel}-pp{plan.pipeline_parallel}"
        )
        return self.model_copy(
            update={
                "hf_model_dir": hf,
                "tokenizer_dir": self.tokenizer_dir or hf,
                "work_dir": work,
                "checkpoint_dir": self.checkpoint_dir or posixpath.join(work, "checkpoint"),
                "engine_dir": self.engine_dir or posixpath.join(work, "engine"),
            }
        )

    def ports(self, instance: int) -> dict[str, int]:
        shift = instance * self.instance_port_offset
        return {
            "grpc": self.grpc_port + shift,
            "http": self.http_port + shift,
            "metrics": self.metrics_port + shift,
        }

    @property
    def triton_model(self) -> str:
        """The Triton model clients call (llmops' ``triton.llm_model``)."""
        return "ensemble" if self.flavour == "ensemble" else "tensorrt_llm"


class PlanFile(BaseModel):
    """The YAML document ``llmops deploy`` reads."""

    model_config = ConfigDict(extra="forbid")

    plan: DeploymentPlan
    architecture: ModelArchitecture | None = None
    hf_config: str = ""  # path to the model's config.json (relative to the plan file)
    serving: ServingOptions = ServingOptions()

    def model_spec(self, base: Path | None = None) -> ModelSpec | ModelArchitecture | None:
        """The model's shape when the file gives it; None to look ``plan.model`` up."""
        if self.hf_config:
            path = Path(self.hf_config)
            if not path.is_absolute() and base is not None:
                path = base / path
            return load_model_spec(str(path))
        return self.architecture


def load_plan_file(path: str | Path) -> tuple[PlanFile, Path]:
    """Read and check a plan file's structure (not yet the plan itself)."""
    path = Path(path)
    if not path.is_file():
        raise NotFoundError(f"no plan file at {path}", reason="PLAN_FILE_NOT_FOUND")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise InvalidArgumentError(f"{path} is not valid YAML: {exc}") from None
    try:
        return PlanFile.model_validate(data), path.parent
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise InvalidArgumentError(f"{path}: {problems}", reason="PLAN_FILE_INVALID") from None


def validate_serving(plan: DeploymentPlan, serving: ServingOptions) -> list[PlanIssue]:
    """Ports, paths and flavour checks of a resolved plan's serving options."""
    issues: list[PlanIssue] = []

    def error(field: str, message: str) -> None:
        issues.append(PlanIssue(severity=Severity.ERROR, field=f"serving.{field}", message=message))

    def warning(field: str, message: str) -> None:
        issues.append(
            PlanIssue(severity=Severity.WARNING, field=f"serving.{field}", message=message)
        )

    owners: dict[int, str] = {}
    for instance in range(plan.instances):
        for kind, port in serving.ports(instance).items():
            what = f"instance {instance} {kind}"
            if port > 65535:
                error(
                    f"{kind}_port",
                    f"{what} port {port} is above 65535; lower the base ports or "
                    "instance_port_offset",
                )
            elif port in owners:
                error(
                    f"{kind}_port",
                    f"{what} port {port} is also {owners[port]}'s; every listener needs its "
                    "own port (instance i adds i x instance_port_offset)",
                )
            owners.setdefault(port, what)
    for field in ("hf_model_dir", "tokenizer_dir", "engine_dir", "checkpoint_dir", "trtllm_src"):
        value = getattr(serving, field)
        if value and not posixpath.isabs(value):
            error(
                field,
                f"{field} '{value}' must be an absolute path on the GPU machine (Triton "
                "resolves it there, not relative to the model repository)",
            )
    if serving.flavour == "ensemble":
        if serving.grpc_port != BLS_GRPC_PORT or plan.instances > 1:
            warning(
                "grpc_port",
                "tensorrt_llm_bls reads model configs from localhost:8001 (fixed in its "
                "model.py): instances not listening there must be called through "
                "`ensemble`, not `tensorrt_llm_bls`",
            )
    elif plan.dtype.is_quantized:
        warning(
            "flavour",
            f"the LLM-API backend loads the Hugging Face checkpoint as it is: for "
            f"{plan.dtype.value.lower()} weights point hf_model_dir at a pre-quantized "
            "checkpoint (or use flavour ensemble, which quantizes while building the engine)",
        )
    if serving.flavour == "llmapi" and plan.kv_cache_dtype is Precision.INT8:
        error(
            "flavour",
            "the LLM-API backend's KV cache is the model precision or fp8; use "
            "kv_cache_dtype fp8, or flavour ensemble for int8",
        )
    return issues
