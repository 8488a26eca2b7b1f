"""Capacity arithmetic against published figures."""

from __future__ import annotations

import pytest

from llmops_deploy import (
    DeploymentPlan,
    Precision,
    estimate,
    lookup_model,
    model_weight_bytes,
    plan_capacity,
    plan_report,
    resolve_plan,
)

GIB = 1 << 30


def _plan(model: str, **fields) -> tuple[DeploymentPlan, object]:
    spec = lookup_model(model)
    fields.setdefault("gpu_type", "H100-80GB")
    fields.setdefault("max_num_tokens", 8192)
    return resolve_plan(DeploymentPlan(model=model, **fields), spec), spec


def test_llama_2_70b_fp16_weights_are_about_140_gb():
    """ "Loading Llama 2 70B requires 140 GB of memory (70 billion * 2 bytes)" (kaitchup,
    Run Llama 2 70B on Your GPU with ExLlamaV2); exactly 68.98e9 parameters x 2 bytes."""
    plan, spec = _plan("llama-2-70b", dtype=Precision.FP16)
    total = model_weight_bytes(plan, spec)
    assert total == pytest.approx(137.95e9, rel=1e-3)
    assert abs(total / 1e9 - 140) < 3


def test_llama_2_70b_kv_cache_is_320_kib_per_token_at_fp16():
    """80 layers x 8 KV heads x 128 x 2 (K, V) x 2 bytes = 327,680 B; the IETF draft
    draft-calabria-bmwg-ai-fabric-inference-bench gives 1,342,177,280 B for 4,096 tokens."""
    plan, spec = _plan("llama-2-70b", dtype=Precision.FP16, tensor_parallel=1, gpu_count=1)
    breakdown = estimate(plan, spec)
    assert breakdown.kv_bytes_per_token_model == 327_680 == 320 * 1024
    assert breakdown.estimate.kv_cache_bytes_per_token == 327_680  # tp 1: one GPU holds all
    assert breakdown.kv_bytes_per_token_model * 4096 == 1_342_177_280


def test_tensor_parallel_splits_weights_and_kv_heads():
    plan, spec = _plan("llama-2-70b", tensor_parallel=8, gpu_count=8)
    e = estimate(plan, spec).estimate
    assert e.kv_cache_bytes_per_token == 327_680 // 8  # one KV head per GPU
    # 80 layers / 8 + embedding split by --use_parallel_embedding + lm_head / 8
    expected = (80 * spec.params_per_layer * 2 + 2 * spec.embedding_params * 2) / 8
    assert e.weights_gib_per_gpu == pytest.approx(
        expected / GIB + spec.hidden_size * 2 / GIB, abs=1e-3
    )
    assert e.world_size == 8 and e.gpus_required == 8


def test_pipeline_parallel_splits_layers_and_keeps_the_heavier_stage():
    plan, spec = _plan("llama-2-70b", pipeline_parallel=4, gpu_count=4)
    breakdown = estimate(plan, spec)
    assert breakdown.layers_per_stage == 20
    assert breakdown.estimate.kv_cache_bytes_per_token == 20 * 8 * 128 * 2 * 2
    layers = 20 * spec.params_per_layer * 2
    heavier = max(
        layers + spec.embedding_params * 2,
        layers + spec.embedding_params * 2 + spec.hidden_size * 2,
    )
    assert breakdown.estimate.weights_gib_per_gpu == pytest.approx(heavier / GIB, abs=1e-3)


def test_fp8_kv_cache_halves_it_and_fp8_weights_halve_the_layers():
    fp16, spec = _plan("llama-3-70b", tensor_parallel=4, gpu_count=4)
    fp8, _ = _plan(
        "llama-3-70b",
        tensor_parallel=4,
        gpu_count=4,
        dtype=Precision.FP8,
        kv_cache_dtype=Precision.FP8,
    )
    a, b = estimate(fp16, spec), estimate(fp8, spec)
    assert b.estimate.kv_cache_bytes_per_token * 2 == a.estimate.kv_cache_bytes_per_token
    assert b.layer_bytes_per_gpu * 2 == a.layer_bytes_per_gpu
    # embedding and lm_head stay FP16 in a quantized checkpoint
    assert b.lm_head_bytes_per_gpu == a.lm_head_bytes_per_gpu


def test_llama_3_8b_kv_cache_is_128_kib_per_token():
    """32 layers x 8 KV heads x 128 x 2 x 2 bytes (GQA) = 131,072 B."""
    plan, spec = _plan("llama-3-8b", gpu_count=1)
    assert estimate(plan, spec).estimate.kv_cache_bytes_per_token == 131_072


def test_more_gpus_than_kv_heads_replicate_them():
    plan, spec = _plan("smollm2-135m", tensor_parallel=9, gpu_count=9)  # 3 KV heads
    assert estimate(plan, spec).estimate.kv_cache_bytes_per_token == 30 * 1 * 64 * 2 * 2


def test_what_fits_is_consistent():
    plan, spec = _plan("llama-2-70b", tensor_parallel=2, gpu_count=2, kv_cache_dtype=Precision.FP8)
    e = estimate(plan, spec).estimate
    assert e.max_concurrent_sequences == e.max_kv_tokens // plan.max_seq_len
    assert e.total_gib_per_gpu == pytest.approx(
        e.weights_gib_per_gpu + e.kv_cache_gib_per_gpu + e.overhead_gib_per_gpu, abs=0.01
    )
    assert e.fits == (e.max_concurrent_sequences >= plan.max_batch_size)
    assert not e.fits  # 64 GiB of weights leave room for fewer than 64 x 4096 tokens


def test_plan_capacity_answers_like_the_rpc():
    answer = plan_capacity(
        DeploymentPlan(
            model="llama-2-70b",
            gpu_type="H100-80GB",
            gpu_count=8,
            tensor_parallel=1,
            kv_cache_dtype=Precision.FP8,
            max_batch_size=64,
            max_seq_len=4096,
            max_num_tokens=8192,
        )
    )
    assert not answer.estimate.fits  # 128 GiB of weights on one 80 GB GPU
    assert answer.min_tensor_parallel == 4
    assert answer.architecture.num_kv_heads == 8
    assert answer.architecture.parameter_count == 68_976_648_192


def test_the_planner_tries_every_split_and_shows_its_arithmetic():
    spec = lookup_model("llama-2-70b")
    report = plan_report(
        DeploymentPlan(
            model="llama-2-70b",
            gpu_type="H100-80GB",
            gpu_count=8,
            kv_cache_dtype=Precision.FP8,
            max_batch_size=64,
            max_seq_len=4096,
            max_num_tokens=8192,
        ),
        spec,
    )
    splits = {(o.tensor_parallel, o.pipeline_parallel) for o in report.options}
    assert {(1, 1), (2, 1), (4, 1), (8, 1), (2, 2), (1, 8)} <= splits
    assert all(tp * pp <= 8 for tp, pp in splits)
    assert report.min_tensor_parallel == 4 and report.plan.tensor_parallel == 4
    text = "\n".join(report.arithmetic)
    assert "80 layers x 8 kv heads x 128 head_dim x 2 (K and V) x 1 B (fp8) = 163,840 B" in text
    assert "80 layers x 2 kv heads x 128 x 2 x 1 B = 40,960 B" in text
