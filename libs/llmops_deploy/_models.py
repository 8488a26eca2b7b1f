"""The deployment API as pydantic models, field for field the messages of
``proto/llmops/v1/inference.proto`` (ValidateDeploymentPlan, PlanCapacity).

Zero means "not set" exactly as in proto3; ``resolve_plan`` fills the defaults.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from llmops_deploy._precision import Precision


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ModelArchitecture(_Message):
    """``llmops.v1.ModelArchitecture``: the shape of a transformer, enough to size its memory."""

    parameter_count: int = Field(default=0, ge=0)
    num_layers: int = Field(default=0, ge=0)
    hidden_size: int = Field(default=0, ge=0)
    num_attention_heads: int = Field(default=0, ge=0)
    num_kv_heads: int = Field(default=0, ge=0)  # 0: num_attention_heads
    head_dim: int = Field(default=0, ge=0)  # 0: hidden_size / num_attention_heads
    vocab_size: int = Field(default=0, ge=0)
    max_position_embeddings: int = Field(default=0, ge=0)

    @property
    def kv_heads(self) -> int:
        return self.num_kv_heads or self.num_attention_heads

    @property
    def head_size(self) -> int:
        if self.head_dim:
            return self.head_dim
        return self.hidden_size // self.num_attention_heads if self.num_attention_heads else 0


class DeploymentPlan(_Message):
    """``llmops.v1.DeploymentPlan``: how an LLM is deployed on GPUs with TensorRT-LLM."""

    model: str = ""
    gpu_type: str = ""
    gpu_count: int = 0
    tensor_parallel: int = 0
    pipeline_parallel: int = 0
    dtype: Precision = Precision.UNSPECIFIED
    kv_cache_dtype: Precision = Precision.UNSPECIFIED
    max_batch_size: int = 0
    max_input_len: int = 0
    max_seq_len: int = 0
    max_num_tokens: int = 0  # 0: max_batch_size * max_input_len
    instances: int = 0  # total GPUs = instances * tp * pp
    gpu_memory_gib: float = 0.0  # 0: taken from gpu_type
    kv_cache_free_gpu_mem_fraction: float = 0.0  # 0: 0.9
    gpu_ids: list[int] = Field(default_factory=list)

    @field_validator("dtype", "kv_cache_dtype", mode="before")
    @classmethod
    def _precision(cls, value: object) -> Precision:
        return Precision.parse(value)

    @property
    def world_size(self) -> int:
        return max(self.tensor_parallel, 1) * max(self.pipeline_parallel, 1)

    @property
    def gpus_required(self) -> int:
        return max(self.instances, 1) * self.world_size

    def instance_gpu_ids(self, instance: int) -> list[int]:
        """The GPUs of one instance (replica): consecutive slices of ``gpu_ids``."""
        size = self.world_size
        return self.gpu_ids[instance * size : (instance + 1) * size]


class Severity(StrEnum):
    """``llmops.v1.PlanIssueSeverity`` without its prefix."""

    UNSPECIFIED = "UNSPECIFIED"
    ERROR = "ERROR"
    WARNING = "WARNING"


class PlanIssue(_Message):
    """``llmops.v1.PlanIssue``: what is wrong, which field, and how to fix it."""

    severity: Severity
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity.value.lower()}: {self.field}: {self.message}"


class CapacityEstimate(_Message):
    """``llmops.v1.CapacityEstimate``: memory per GPU and what fits."""

    world_size: int = 0
    weights_gib_per_gpu: float = 0.0
    kv_cache_bytes_per_token: int = 0  # one token, all layers one GPU holds
    kv_cache_gib_per_gpu: float = 0.0  # max_batch_size sequences of max_seq_len
    overhead_gib_per_gpu: float = 0.0
    total_gib_per_gpu: float = 0.0
    gpu_memory_gib: float = 0.0
    fits: bool = False
    max_kv_tokens: int = 0
    max_concurrent_sequences: int = 0
    gpus_required: int = 0


class ValidationResult(_Message):
    """``llmops.v1.ValidateDeploymentPlanResponse``."""

    valid: bool
    issues: list[PlanIssue] = Field(default_factory=list)
    estimate: CapacityEstimate | None = None
    resolved_plan: DeploymentPlan

    @property
    def errors(self) -> list[PlanIssue]:
        return [i for i in self.issues if i.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[PlanIssue]:
        return [i for i in self.issues if i.severity is Severity.WARNING]


class CapacityPlan(_Message):
    """``llmops.v1.PlanCapacityResponse``."""

    estimate: CapacityEstimate
    architecture: ModelArchitecture
    min_tensor_parallel: int = 0  # 0: none up to gpu_count
