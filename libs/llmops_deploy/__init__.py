"""Deployment of LLMs on Triton + TensorRT-LLM with tensor and pipeline parallelism.

Plans (the ``llmops.v1`` DeploymentPlan messages as pydantic models), their validation
and capacity estimate, and the generated model repository, engine build and launch.
"""

from llmops_deploy._capacity import Breakdown, estimate, model_weight_bytes
from llmops_deploy._catalog import (
    GPUS,
    KNOWN_MODELS,
    GpuType,
    ModelSpec,
    canonical_model_name,
    load_model_spec,
    lookup_gpu,
    lookup_model,
    spec_from_hf_config,
)
from llmops_deploy._deployment import Deployment, artifacts, prepare, render
from llmops_deploy._launch import execute, preflight
from llmops_deploy._models import (
    CapacityEstimate,
    CapacityPlan,
    DeploymentPlan,
    ModelArchitecture,
    PlanIssue,
    Severity,
    ValidationResult,
)
from llmops_deploy._planner import CapacityReport, Option, plan_report
from llmops_deploy._precision import Precision
from llmops_deploy._proto import from_proto, to_proto
from llmops_deploy._scripts import launch_argv
from llmops_deploy._serving import PlanFile, ServingOptions, load_plan_file
from llmops_deploy._validate import (
    min_tensor_parallel,
    plan_capacity,
    resolve_plan,
    validate_plan,
)

__all__ = [
    "GPUS",
    "KNOWN_MODELS",
    "Breakdown",
    "CapacityEstimate",
    "CapacityPlan",
    "CapacityReport",
    "Deployment",
    "DeploymentPlan",
    "GpuType",
    "ModelArchitecture",
    "ModelSpec",
    "Option",
    "PlanFile",
    "PlanIssue",
    "Precision",
    "ServingOptions",
    "Severity",
    "ValidationResult",
    "artifacts",
    "canonical_model_name",
    "estimate",
    "execute",
    "from_proto",
    "launch_argv",
    "load_model_spec",
    "load_plan_file",
    "lookup_gpu",
    "lookup_model",
    "min_tensor_parallel",
    "model_weight_bytes",
    "plan_capacity",
    "plan_report",
    "preflight",
    "prepare",
    "render",
    "resolve_plan",
    "spec_from_hf_config",
    "to_proto",
    "validate_plan",
]
