"""Memory per GPU of a resolved plan: weights, KV cache, runtime overhead, and what fits.

The sums follow how TensorRT-LLM lays a model out: tensor parallelism splits every
layer's weights and KV heads over ``tp`` GPUs, pipeline parallelism gives each of ``pp``
stages ``num_layers / pp`` whole layers; the embedding sits on the first stage (split over
tp only with ``--use_parallel_embedding``), lm_head and the final norm on the last.
Quantized checkpoints keep embedding and lm_head in the activation precision.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from llmops_deploy._catalog import ModelSpec
from llmops_deploy._models import CapacityEstimate, DeploymentPlan
from llmops_deploy._precision import Precision, activation_precision, kv_bytes

GIB = 1 << 30
# CUDA context, cuBLAS and TensorRT workspaces of one rank; NCCL and custom all-reduce
# buffers when it talks to other ranks.
RUNTIME_GIB = 1.0
COMMUNICATION_GIB = 0.5
LOGITS_BYTES = 4  # TensorRT-LLM computes logits in FP32


def checkpoint_tool(plan: DeploymentPlan) -> str:
    """``quantize`` (ModelOpt calibration) for FP8/INT4 weights or an FP8 KV cache, else
    ``convert`` (examples/<family>/convert_checkpoint.py)."""
    if plan.dtype in (Precision.FP8, Precision.INT4) or plan.kv_cache_dtype is Precision.FP8:
        return "quantize"
    return "convert"


def parallel_embedding(plan: DeploymentPlan) -> bool:
    """The convert script splits the embedding over TP ranks when told to (we tell it)."""
    return checkpoint_tool(plan) == "convert" and plan.tensor_parallel > 1


def kv_heads_per_gpu(spec: ModelSpec, tp: int) -> int:
    """KV heads one rank holds; with tp > kv heads each head is replicated, one per rank."""
    return max(1, math.ceil(spec.num_kv_heads / tp))


@dataclass(frozen=True)
class Breakdown:
    """The estimate with every term, so that it can be shown as arithmetic."""

    estimate: CapacityEstimate
    layers_per_stage: int
    layer_bytes_per_gpu: float
    embedding_bytes_per_gpu: float
    lm_head_bytes_per_gpu: float
    kv_bytes_per_token_model: int
    activation_bytes_per_token: float
    runtime_gib: float
    activations_gib: float
    logits_gib: float
    kv_available_gib: float

    def lines(self, plan: DeploymentPlan, spec: ModelSpec) -> list[str]:
        """The arithmetic, one step per line."""
        e = self.estimate
        tp, pp = plan.tensor_parallel, plan.pipeline_parallel
        w, kv = plan.dtype, plan.kv_cache_dtype
        act = activation_precision(w)
        hd, kvh = spec.head_size, kv_heads_per_gpu(spec, tp)
        split = f"/ tp {tp}" if parallel_embedding(plan) else "(whole on every tp rank)"
        lines = [
            f"parameters: {spec.num_layers} layers x {spec.params_per_layer:,} + embedding "
            f"{spec.embedding_params:,} + lm_head {spec.embedding_params:,} + norm "
            f"{spec.hidden_size:,} = {spec.parameter_count:,}"
            + (" (tied embeddings counted once)" if spec.tie_word_embeddings else ""),
            f"weights, whole model at {w.value.lower()}: {_gb(model_weight_bytes(plan, spec))}",
            f"weights per GPU (tp {tp}, pp {pp}): {self.layers_per_stage} layers x "
            f"{spec.params_per_layer:,} x {w.weight_bytes:g} B / tp {tp} = "
            f"{_gib(self.layers_per_stage * self.layer_bytes_per_gpu)}"
            + (
                f" + embedding {spec.embedding_params:,} x {act.weight_bytes:g} B {split} = "
                f"{_gib(self.embedding_bytes_per_gpu)}"
                if self.embedding_bytes_per_gpu
                else ""
            )
            + (
                f" + lm_head {spec.embedding_params:,} x {act.weight_bytes:g} B / tp {tp} = "
                f"{_gib(self.lm_head_bytes_per_gpu)}"
                if self.lm_head_bytes_per_gpu
                else ""
            )
            + f" -> {e.weights_gib_per_gpu:.2f} GiB"
            + (" (the heavier pipeline stage)" if pp > 1 else ""),
            f"KV cache per token, whole model: {spec.num_layers} layers x {spec.num_kv_heads} "
            f"kv heads x {hd} head_dim x 2 (K and V) x {kv_bytes(kv)} B ({kv.value.lower()}) = "
            f"{self.kv_bytes_per_token_model:,} B ({self.kv_bytes_per_token_model / 1024:g} KiB)",
            f"KV cache per token per GPU: {self.layers_per_stage} layers x {kvh} kv heads x {hd} "
            f"x 2 x {kv_bytes(kv)} B = {e.kv_cache_bytes_per_token:,} B",
            f"KV cache for {plan.max_batch_size} sequences x {plan.max_seq_len} tokens per GPU: "
            f"{e.kv_cache_bytes_per_token:,} B x {plan.max_batch_size * plan.max_seq_len:,} = "
            f"{e.kv_cache_gib_per_gpu:.2f} GiB",
            f"overhead per GPU: runtime {self.runtime_gib:.2f} GiB + activations "
            f"{plan.max_num_tokens:,} tokens x {self.activation_bytes_per_token:,.0f} B = "
            f"{self.activations_gib:.2f} GiB + logits {plan.max_batch_size} x "
            f"{math.ceil(spec.vocab_size / tp):,} x {LOGITS_BYTES} B = {self.logits_gib:.2f} GiB"
            f" -> {e.overhead_gib_per_gpu:.2f} GiB",
            f"total per GPU: {e.weights_gib_per_gpu:.2f} + {e.kv_cache_gib_per_gpu:.2f} + "
            f"{e.overhead_gib_per_gpu:.2f} = {e.total_gib_per_gpu:.2f} GiB of "
            f"{e.gpu_memory_gib:.2f} GiB",
            f"KV cache TensorRT-LLM allocates: ({e.gpu_memory_gib:.2f} - "
            f"{e.weights_gib_per_gpu:.2f} - {e.overhead_gib_per_gpu:.2f}) GiB x "
            f"{plan.kv_cache_free_gpu_mem_fraction:g} = {self.kv_available_gib:.2f} GiB = "
            f"{e.max_kv_tokens:,} tokens = {e.max_concurrent_sequences} sequences of "
            f"{plan.max_seq_len} tokens",
            f"fits ({plan.max_batch_size} sequences of {plan.max_seq_len} tokens at once): "
            + ("yes" if e.fits else "no"),
        ]
        return lines


def _gib(n: float) -> str:
    return f"{n / GIB:.2f} GiB"


def _gb(n: float) -> str:
    return f"{n / 1e9:.1f} GB ({n / GIB:.1f} GiB)"


def model_weight_bytes(plan: DeploymentPlan, spec: ModelSpec) -> float:
    """Bytes of the whole model's weights at the plan's precision (no parallelism)."""
    act = activation_precision(plan.dtype)
    lm_head = 0 if spec.tie_word_embeddings else spec.embedding_params
    return (
        spec.num_layers * spec.params_per_layer * plan.dtype.weight_bytes
        + (spec.embedding_params + lm_head + spec.hidden_size) * act.weight_bytes
    )


def estimate(plan: DeploymentPlan, spec: ModelSpec) -> Breakdown:
    """Memory per GPU of a plan whose defaults are filled (see ``resolve_plan``)."""
    tp, pp = plan.tensor_parallel, plan.pipeline_parallel
    act = activation_precision(plan.dtype)
    layers = math.ceil(spec.num_layers / pp)
    layer_bytes = spec.params_per_layer * plan.dtype.weight_bytes / tp
    embedding = spec.embedding_params * act.weight_bytes / (tp if parallel_embedding(plan) else 1)
    lm_head = spec.embedding_params * act.weight_bytes / tp
    norm = spec.hidden_size * act.weight_bytes
    if pp == 1:
        weights = layers * layer_bytes + embedding + lm_head + norm
        embedding_shown, lm_head_shown = embedding, lm_head
    else:
        first = layers * layer_bytes + embedding
        last = layers * layer_bytes + lm_head + norm
        weights = max(first, last)
        embedding_shown, lm_head_shown = (embedding, 0.0) if first >= last else (0.0, lm_head)

    kv_token_model = (
        spec.num_layers * spec.num_kv_heads * spec.head_size * 2 * kv_bytes(plan.kv_cache_dtype)
    )
    kv_token = (
        layers * kv_heads_per_gpu(spec, tp) * spec.head_size * 2 * kv_bytes(plan.kv_cache_dtype)
    )
    kv_needed = kv_token * plan.max_batch_size * plan.max_seq_len

    runtime = RUNTIME_GIB + (COMMUNICATION_GIB if plan.world_size > 1 else 0.0)
    mlp_width = spec.intermediate_size * (min(spec.num_experts, 2) if spec.num_experts else 1)
    qkv = (spec.num_attention_heads + 2 * spec.num_kv_heads) * spec.head_size
    act_token = (4 * spec.hidden_size + (2 * mlp_width + qkv) / tp) * act.weight_bytes
    activations = plan.max_num_tokens * act_token / GIB
    logits = plan.max_batch_size * math.ceil(spec.vocab_size / tp) * LOGITS_BYTES / GIB
    overhead = runtime + activations + logits

    memory = plan.gpu_memory_gib
    free = max(0.0, memory - weights / GIB - overhead)
    kv_available = free * plan.kv_cache_free_gpu_mem_fraction
    max_tokens = int(kv_available * GIB // kv_token) if kv_token else 0
    sequences = max_tokens // plan.max_seq_len if plan.max_seq_len else 0
    fits = weights / GIB + overhead <= memory and kv_needed <= kv_available * GIB

    result = CapacityEstimate(
        world_size=plan.world_size,
        weights_gib_per_gpu=round(weights / GIB, 3),
        kv_cache_bytes_per_token=kv_token,
        kv_cache_gib_per_gpu=round(kv_needed / GIB, 3),
        overhead_gib_per_gpu=round(overhead, 3),
        total_gib_per_gpu=round(weights / GIB + kv_needed / GIB + overhead, 3),
        gpu_memory_gib=round(memory, 3),
        fits=fits,
        max_kv_tokens=max_tokens,
        max_concurrent_sequences=sequences,
        gpus_required=plan.gpus_required,
    )
    return Breakdown(
        estimate=result,
        layers_per_stage=layers,
        layer_bytes_per_gpu=layer_bytes,
        embedding_bytes_per_gpu=embedding_shown,
        lm_head_bytes_per_gpu=lm_head_shown,
        kv_bytes_per_token_model=kv_token_model,
        activation_bytes_per_token=act_token,
        runtime_gib=runtime,
        activations_gib=activations,
        logits_gib=logits,
        kv_available_gib=kv_available,
    )


def tp_compatible(spec: ModelSpec, tp: int) -> bool:
    """TensorRT-LLM splits attention heads evenly and KV heads evenly or by replication."""
    kv = spec.num_kv_heads
    return spec.num_attention_heads % tp == 0 and (kv % tp == 0 or tp % kv == 0)


def tp_options(spec: ModelSpec, limit: int) -> list[int]:
    return [tp for tp in range(1, max(limit, 1) + 1) if tp_compatible(spec, tp)]


def pp_options(spec: ModelSpec, limit: int) -> list[int]:
    return [pp for pp in range(1, max(limit, 1) + 1) if spec.num_layers % pp == 0]
