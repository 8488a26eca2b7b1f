"""Resolve a deployment plan's defaults and check it before anything is built or launched.

Every issue names the plan field to change and what to change it to.
"""

from __future__ import annotations

from collections import Counter

from llmops_core.errors import InvalidArgumentError
from llmops_deploy._capacity import (
    checkpoint_tool,
    estimate,
    pp_options,
    tp_compatible,
    tp_options,
)
from llmops_deploy._catalog import GPUS, ModelSpec, lookup_gpu, lookup_model
from llmops_deploy._models import (
    CapacityEstimate,
    CapacityPlan,
    DeploymentPlan,
    ModelArchitecture,
    PlanIssue,
    Severity,
    ValidationResult,
)
from llmops_deploy._precision import Precision, activation_precision, default_kv_precision

DEFAULT_MAX_BATCH_SIZE = 64
DEFAULT_MAX_INPUT_LEN = 1024  # trtllm-build's default
DEFAULT_KV_FRACTION = 0.9  # the TensorRT-LLM backend's default


def model_spec(
    plan: DeploymentPlan, architecture: ModelArchitecture | ModelSpec | None
) -> ModelSpec:
    """The model's shape: given, or looked up by ``plan.model`` (NotFoundError when unknown)."""
    if isinstance(architecture, ModelSpec):
        return architecture
    if architecture is not None and architecture != ModelArchitecture():
        return ModelSpec.from_architecture(plan.model or "model", architecture)
    return lookup_model(plan.model)


def resolve_plan(plan: DeploymentPlan, spec: ModelSpec) -> DeploymentPlan:
    """The plan with every unset (zero) field given its default."""
    tp = plan.tensor_parallel or 1
    pp = plan.pipeline_parallel or 1
    instances = plan.instances or 1
    dtype = plan.dtype if plan.dtype is not Precision.UNSPECIFIED else Precision.FP16
    kv = plan.kv_cache_dtype
    if kv is Precision.UNSPECIFIED:
        kv = default_kv_precision(dtype)
    gpu = lookup_gpu(plan.gpu_type) if plan.gpu_type else None
    max_seq = plan.max_seq_len or spec.max_position_embeddings or 4096
    max_input = plan.max_input_len or min(DEFAULT_MAX_INPUT_LEN, max(max_seq - 1, 1))
    max_batch = plan.max_batch_size or DEFAULT_MAX_BATCH_SIZE
    needed = instances * tp * pp
    return plan.model_copy(
        update={
            "gpu_type": gpu.name if gpu else plan.gpu_type,
            "gpu_count": plan.gpu_count or len(plan.gpu_ids) or needed,
            "tensor_parallel": tp,
            "pipeline_parallel": pp,
            "dtype": dtype,
            "kv_cache_dtype": kv,
            "max_batch_size": max_batch,
            "max_input_len": max_input,
            "max_seq_len": max_seq,
            "max_num_tokens": plan.max_num_tokens or max_batch * max_input,
            "instances": instances,
            "gpu_memory_gib": plan.gpu_memory_gib or (round(gpu.memory_gib, 3) if gpu else 0.0),
            "kv_cache_free_gpu_mem_fraction": plan.kv_cache_free_gpu_mem_fraction
            or DEFAULT_KV_FRACTION,
            "gpu_ids": list(plan.gpu_ids) or list(range(needed)),
        }
    )


def _choices(values: list[int]) -> str:
    text = [str(v) for v in values]
    return text[0] if len(text) == 1 else f"{', '.join(text[:-1])} or {text[-1]}"


class _Issues:
    def __init__(self) -> None:
        self.items: list[PlanIssue] = []

    def error(self, field: str, message: str) -> None:
        self.items.append(PlanIssue(severity=Severity.ERROR, field=field, message=message))

    def warning(self, field: str, message: str) -> None:
        self.items.append(PlanIssue(severity=Severity.WARNING, field=field, message=message))

    @property
    def has_errors(self) -> bool:
        return any(i.severity is Severity.ERROR for i in self.items)


def validate_plan(
    plan: DeploymentPlan, architecture: ModelArchitecture | ModelSpec | None = None
) -> ValidationResult:
    """Check parallelism, GPUs, precisions, shapes and memory; estimate memory per GPU."""
    spec = model_spec(plan, architecture)
    issues = _Issues()
    _check_ranges(plan, issues)
    if issues.has_errors:
        return ValidationResult(valid=False, issues=issues.items, resolved_plan=plan)
    resolved = resolve_plan(plan, spec)
    _check_parallelism(resolved, spec, issues)
    _check_gpus(resolved, issues)
    _check_precisions(resolved, issues)
    _check_lengths(resolved, spec, issues)
    result_estimate: CapacityEstimate | None = None
    if resolved.gpu_memory_gib > 0:
        breakdown = estimate(resolved, spec)
        result_estimate = breakdown.estimate
        _check_memory(resolved, spec, breakdown.estimate, breakdown.activations_gib, issues)
    return ValidationResult(
        valid=not issues.has_errors,
        issues=issues.items,
        estimate=result_estimate,
        resolved_plan=resolved,
    )


def plan_capacity(
    plan: DeploymentPlan, architecture: ModelArchitecture | ModelSpec | None = None
) -> CapacityPlan:
    """Memory per GPU of the plan and the smallest tensor-parallel degree that fits."""
    spec = model_spec(plan, architecture)
    issues = _Issues()
    _check_ranges(plan, issues)
    if issues.has_errors:
        raise InvalidArgumentError("; ".join(str(i) for i in issues.items), reason="PLAN_INVALID")
    resolved = resolve_plan(plan, spec)
    if resolved.gpu_memory_gib <= 0:
        raise InvalidArgumentError(_unknown_gpu(resolved), reason="GPU_UNKNOWN")
    return CapacityPlan(
        estimate=estimate(resolved, spec).estimate,
        architecture=spec.architecture(),
        min_tensor_parallel=min_tensor_parallel(resolved, spec),
    )


def min_tensor_parallel(plan: DeploymentPlan, spec: ModelSpec) -> int:
    """Smallest TP (the plan's PP and instances kept) whose estimate fits; 0: none on gpu_count."""
    limit = plan.gpu_count // (plan.pipeline_parallel * plan.instances)
    for tp in tp_options(spec, limit):
        trial = plan.model_copy(update={"tensor_parallel": tp, "gpu_ids": []})
        if estimate(trial, spec).estimate.fits:
            return tp
    return 0


def _check_ranges(plan: DeploymentPlan, issues: _Issues) -> None:
    for field in (
        "gpu_count",
        "tensor_parallel",
        "pipeline_parallel",
        "max_batch_size",
        "max_input_len",
        "max_seq_len",
        "max_num_tokens",
        "instances",
    ):
        if getattr(plan, field) < 0:
            issues.error(
                field, f"{field} is {getattr(plan, field)}; it must be positive (0: default)"
            )
    if plan.gpu_memory_gib < 0:
        issues.error("gpu_memory_gib", "gpu_memory_gib must be positive (0: from gpu_type)")
    if not 0 <= plan.kv_cache_free_gpu_mem_fraction <= 1:
        issues.error(
            "kv_cache_free_gpu_mem_fraction",
            f"kv_cache_free_gpu_mem_fraction is {plan.kv_cache_free_gpu_mem_fraction:g}; use a "
            "share of free memory in (0, 1], e.g. 0.9",
        )


def _check_parallelism(plan: DeploymentPlan, spec: ModelSpec, issues: _Issues) -> None:
    tp, pp = plan.tensor_parallel, plan.pipeline_parallel
    per_instance = max(plan.gpu_count // (pp * plan.instances), 1)
    tps = tp_options(spec, max(per_instance, 8))
    if spec.num_attention_heads % tp:
        issues.error(
            "tensor_parallel",
            f"tensor_parallel ({tp}) does not divide num_attention_heads "
            f"({spec.num_attention_heads}); use tensor_parallel {_choices(tps)}",
        )
    elif not tp_compatible(spec, tp):
        issues.error(
            "tensor_parallel",
            f"tensor_parallel ({tp}) and num_kv_heads ({spec.num_kv_heads}) must divide one "
            f"another (each GPU holds whole KV heads); use tensor_parallel {_choices(tps)}",
        )
    elif tp > spec.num_kv_heads:
        issues.warning(
            "tensor_parallel",
            f"tensor_parallel ({tp}) exceeds num_kv_heads ({spec.num_kv_heads}): each KV head is "
            f"replicated on {tp // spec.num_kv_heads} GPUs, so the KV cache per GPU stops "
            f"shrinking beyond tensor_parallel {spec.num_kv_heads}",
        )
    if spec.num_layers % pp:
        issues.error(
            "pipeline_parallel",
            f"pipeline_parallel ({pp}) does not divide num_layers ({spec.num_layers}); use "
            f"pipeline_parallel {_choices(pp_options(spec, max(plan.gpu_count // tp, 8)))}",
        )


def _check_gpus(plan: DeploymentPlan, issues: _Issues) -> None:
    needed = plan.gpus_required
    tp, pp, n = plan.tensor_parallel, plan.pipeline_parallel, plan.gpu_count
    if needed > n:
        issues.error(
            "gpu_count",
            f"the plan needs {needed} GPUs (instances {plan.instances} x tensor_parallel {tp} x "
            f"pipeline_parallel {pp}) but gpu_count is {n}; lower tensor_parallel, "
            "pipeline_parallel or instances, or add GPUs",
        )
    elif needed < n:
        hint = (
            f"; set instances to {n // plan.world_size} to serve replicas on them"
            if n // plan.world_size > plan.instances
            else ""
        )
        issues.warning("gpu_count", f"{n - needed} of {n} GPUs stay idle{hint}")
    ids = plan.gpu_ids
    if len(ids) != needed:
        issues.error(
            "gpu_ids",
            f"gpu_ids lists {len(ids)} GPUs but the plan uses {needed} (instances x "
            f"tensor_parallel x pipeline_parallel); list exactly {needed}, or none for GPUs "
            f"0 to {needed - 1}",
        )
    for gpu, count in sorted(Counter(ids).items()):
        if count > 1:
            issues.error("gpu_ids", f"GPU {gpu} is listed {count} times; one rank per GPU")
        if gpu < 0 or gpu >= n:
            issues.error(
                "gpu_ids", f"GPU {gpu} does not exist on a {n}-GPU node (ids 0 to {n - 1})"
            )
    if plan.gpu_memory_gib <= 0:
        issues.error("gpu_type", _unknown_gpu(plan))


def _unknown_gpu(plan: DeploymentPlan) -> str:
    what = f"unknown GPU type '{plan.gpu_type}'" if plan.gpu_type else "gpu_type is not set"
    return f"{what}; use one of {', '.join(GPUS)}, or set gpu_memory_gib"


def _check_precisions(plan: DeploymentPlan, issues: _Issues) -> None:
    gpu = lookup_gpu(plan.gpu_type)
    w, kv = plan.dtype, plan.kv_cache_dtype
    fp8_gpus = ", ".join(g.name for g in GPUS.values() if g.fp8)
    if gpu and not gpu.fp8:
        if w is Precision.FP8:
            issues.error(
                "dtype",
                f"FP8 weights need FP8 tensor cores (Ada or Hopper: {fp8_gpus}), which "
                f"{gpu.name} lacks: use fp16/bf16, or int8/int4 weight-only",
            )
        if kv is Precision.FP8:
            issues.error(
                "kv_cache_dtype",
                f"an FP8 KV cache needs Ada or Hopper GPUs ({fp8_gpus}); on {gpu.name} use "
                "kv_cache_dtype int8 or fp16",
            )
    act = activation_precision(w)
    if kv is Precision.INT4:
        issues.error(
            "kv_cache_dtype", "TensorRT-LLM has no INT4 KV cache; use fp8 (Ada/Hopper) or int8"
        )
    elif kv not in (act, Precision.FP8, Precision.INT8):
        issues.error(
            "kv_cache_dtype",
            f"kv_cache_dtype {kv.value.lower()} with dtype {w.value.lower()}: the KV cache is "
            f"either the activation precision ({act.value.lower()}) or quantized (fp8, int8)",
        )
    if checkpoint_tool(plan) == "quantize":
        issues.warning(
            "dtype",
            "FP8/INT4 weights and FP8 KV caches are calibrated by TensorRT-LLM's "
            "examples/quantization/quantize.py (NVIDIA ModelOpt), which downloads the "
            "cnn_dailymail dataset unless CALIB_DATASET points to a local copy",
        )


def _check_lengths(plan: DeploymentPlan, spec: ModelSpec, issues: _Issues) -> None:
    seq, inp, tokens = plan.max_seq_len, plan.max_input_len, plan.max_num_tokens
    if inp >= seq:
        issues.error(
            "max_input_len",
            f"max_input_len ({inp}) must be below max_seq_len ({seq}) to leave room for the "
            f"answer; e.g. max_input_len {max(seq // 2, 1)}",
        )
    if spec.max_position_embeddings and seq > spec.max_position_embeddings:
        issues.warning(
            "max_seq_len",
            f"max_seq_len ({seq}) exceeds the model's max_position_embeddings "
            f"({spec.max_position_embeddings}); quality degrades past it without RoPE scaling",
        )
    if tokens < inp:
        issues.warning(
            "max_num_tokens",
            f"max_num_tokens ({tokens}) is below max_input_len ({inp}): longer prompts are "
            "processed in chunks (the tensorrt_llm model sets enable_chunked_context)",
        )


def _check_memory(
    plan: DeploymentPlan,
    spec: ModelSpec,
    e: CapacityEstimate,
    activations_gib: float,
    issues: _Issues,
) -> None:
    gpu = plan.gpu_type or "GPU"
    best = min_tensor_parallel(plan, spec)
    use_tp = f"use tensor_parallel {best}, " if best > plan.tensor_parallel else ""
    if e.weights_gib_per_gpu + e.overhead_gib_per_gpu > e.gpu_memory_gib:
        issues.error(
            "tensor_parallel",
            f"weights {e.weights_gib_per_gpu:.1f} GiB + overhead {e.overhead_gib_per_gpu:.1f} GiB "
            f"per GPU exceed the {e.gpu_memory_gib:.1f} GiB of one {gpu}; {use_tp}more pipeline "
            "stages, or quantized weights (fp8, int8, int4)",
        )
        return
    if e.max_kv_tokens < plan.max_seq_len:
        issues.error(
            "max_seq_len",
            f"after weights and overhead the KV cache holds {e.max_kv_tokens:,} tokens per GPU, "
            f"less than one sequence of max_seq_len {plan.max_seq_len}; {use_tp}lower "
            "max_seq_len, or use kv_cache_dtype fp8/int8",
        )
    elif not e.fits:
        kv_hint = (
            "kv_cache_dtype fp8, "
            if plan.kv_cache_dtype not in (Precision.FP8, Precision.INT8)
            else ""
        )
        issues.warning(
            "max_batch_size",
            f"only {e.max_concurrent_sequences} of {plan.max_batch_size} sequences of "
            f"{plan.max_seq_len} tokens fit in the KV cache at once ({e.max_kv_tokens:,} tokens); "
            f"the rest wait. For all of them: {use_tp}{kv_hint}or max_batch_size "
            f"{max(e.max_concurrent_sequences, 1)}",
        )
    if activations_gib > 0.1 * e.gpu_memory_gib:
        issues.warning(
            "max_num_tokens",
            f"max_num_tokens ({plan.max_num_tokens:,}) reserves {activations_gib:.1f} GiB of "
            "activations per GPU; TensorRT-LLM's default is 8192",
        )
