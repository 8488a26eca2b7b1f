"""Plan validation: every mistake is an issue that names the field and the fix."""

from __future__ import annotations

import pytest

from llmops_core.errors import InvalidArgumentError, NotFoundError
from llmops_deploy import (
    DeploymentPlan,
    ModelArchitecture,
    Precision,
    ServingOptions,
    Severity,
    plan_capacity,
    prepare,
    validate_plan,
)


def plan(**fields) -> DeploymentPlan:
    base = {
        "model": "llama-3-8b",
        "gpu_type": "H100-80GB",
        "gpu_count": 8,
        "max_batch_size": 64,
        "max_input_len": 2048,
        "max_seq_len": 4096,
        "max_num_tokens": 8192,
    }
    return DeploymentPlan(**{**base, **fields})


def messages(result, severity=Severity.ERROR) -> dict[str, str]:
    return {i.field: i.message for i in result.issues if i.severity is severity}


def test_a_sound_plan_is_valid_and_resolved():
    result = validate_plan(plan(tensor_parallel=2, gpu_count=2))
    assert result.valid, result.issues
    r = result.resolved_plan
    assert (r.pipeline_parallel, r.instances, r.gpu_ids) == (1, 1, [0, 1])
    assert (r.dtype, r.kv_cache_dtype) == (Precision.FP16, Precision.FP16)
    assert r.kv_cache_free_gpu_mem_fraction == 0.9
    assert r.gpu_memory_gib == pytest.approx(79.65, abs=0.01)
    assert result.estimate.fits


def test_defaults_follow_the_proto():
    r = validate_plan(DeploymentPlan(model="llama-2-7b", gpu_type="A100-80GB")).resolved_plan
    assert r.tensor_parallel == 1 and r.gpu_count == 1
    assert r.max_seq_len == 4096  # the model's max_position_embeddings
    assert r.max_input_len == 1024  # trtllm-build's default
    assert r.max_num_tokens == r.max_batch_size * r.max_input_len  # proto: 0 -> batch x input
    r = validate_plan(DeploymentPlan(model="llama-2-7b", gpu_type="L4", dtype="int4")).resolved_plan
    assert r.kv_cache_dtype is Precision.FP16  # integer weights compute in FP16


def test_tp_must_divide_the_attention_heads():
    result = validate_plan(plan(tensor_parallel=3, gpu_count=3))
    assert not result.valid
    assert messages(result)["tensor_parallel"] == (
        "tensor_parallel (3) does not divide num_attention_heads (32); "
        "use tensor_parallel 1, 2, 4 or 8"
    )


def test_tp_and_kv_heads_must_divide_one_another():
    arch = ModelArchitecture(
        parameter_count=1_500_000_000,
        num_layers=24,
        hidden_size=1536,
        num_attention_heads=12,
        num_kv_heads=4,
        vocab_size=32000,
    )
    result = validate_plan(plan(model="custom", tensor_parallel=6, gpu_count=6), arch)
    assert "num_kv_heads (4) must divide one another" in messages(result)["tensor_parallel"]
    assert "use tensor_parallel 1, 2 or 4" in messages(result)["tensor_parallel"]


def test_tp_beyond_kv_heads_is_a_warning():
    result = validate_plan(plan(model="llama-2-70b", tensor_parallel=16, gpu_count=16))
    assert "replicated on 2 GPUs" in messages(result, Severity.WARNING)["tensor_parallel"]


def test_pp_must_divide_the_layers():
    result = validate_plan(plan(model="llama-2-70b", pipeline_parallel=3, gpu_count=3))
    assert messages(result)["pipeline_parallel"] == (
        "pipeline_parallel (3) does not divide num_layers (80); use pipeline_parallel "
        "1, 2, 4, 5 or 8"
    )


def test_world_size_must_match_the_gpus():
    result = validate_plan(plan(tensor_parallel=4, pipeline_parallel=2, gpu_count=4))
    assert messages(result)["gpu_count"].startswith(
        "the plan needs 8 GPUs (instances 1 x tensor_parallel 4 x pipeline_parallel 2) but "
        "gpu_count is 4"
    )
    idle = validate_plan(plan(tensor_parallel=2, gpu_count=8))
    assert messages(idle, Severity.WARNING)["gpu_count"] == (
        "6 of 8 GPUs stay idle; set instances to 4 to serve replicas on them"
    )


def test_listed_gpus_must_be_one_per_rank_and_exist():
    wrong_count = validate_plan(plan(tensor_parallel=4, gpu_ids=[0, 1]))
    assert "gpu_ids lists 2 GPUs but the plan uses 4" in messages(wrong_count)["gpu_ids"]
    twice = validate_plan(plan(tensor_parallel=2, gpu_ids=[3, 3]))
    assert messages(twice)["gpu_ids"] == "GPU 3 is listed 2 times; one rank per GPU"
    missing = validate_plan(plan(tensor_parallel=2, gpu_ids=[7, 8]))
    assert messages(missing)["gpu_ids"] == "GPU 8 does not exist on a 8-GPU node (ids 0 to 7)"


def test_fp8_needs_ada_or_hopper():
    result = validate_plan(
        plan(
            gpu_type="A100-80GB", tensor_parallel=1, gpu_count=1, dtype="fp8", kv_cache_dtype="fp8"
        )
    )
    assert "FP8 tensor cores" in messages(result)["dtype"]
    assert "kv_cache_dtype int8 or fp16" in messages(result)["kv_cache_dtype"]


def test_kv_cache_precisions():
    assert (
        "no INT4 KV cache"
        in messages(validate_plan(plan(gpu_count=1, kv_cache_dtype="int4")))["kv_cache_dtype"]
    )
    mixed = validate_plan(plan(gpu_count=1, dtype="bf16", kv_cache_dtype="fp16"))
    assert "either the activation precision (bf16)" in messages(mixed)["kv_cache_dtype"]


def test_lengths():
    result = validate_plan(plan(gpu_count=1, max_input_len=4096, max_seq_len=4096))
    assert messages(result)["max_input_len"] == (
        "max_input_len (4096) must be below max_seq_len (4096) to leave room for the answer; "
        "e.g. max_input_len 2048"
    )
    long = validate_plan(plan(gpu_count=1, max_input_len=8000, max_seq_len=16384))
    assert (
        "exceeds the model's max_position_embeddings (8192)"
        in messages(long, Severity.WARNING)["max_seq_len"]
    )
    chunked = validate_plan(plan(gpu_count=1, max_num_tokens=1024))
    assert "processed in chunks" in messages(chunked, Severity.WARNING)["max_num_tokens"]


def test_weights_that_do_not_fit_name_the_tp_that_does():
    result = validate_plan(plan(model="llama-2-70b", tensor_parallel=1, gpu_count=8))
    message = messages(result)["tensor_parallel"]
    assert message.startswith("weights 128.5 GiB + overhead")
    assert "use tensor_parallel 4" in message


def test_a_partly_fitting_batch_is_a_warning():
    result = validate_plan(
        plan(model="llama-2-70b", tensor_parallel=2, gpu_count=2, kv_cache_dtype="fp8")
    )
    assert result.valid
    warning = messages(result, Severity.WARNING)["max_batch_size"]
    assert warning.startswith(f"only {result.estimate.max_concurrent_sequences} of 64 sequences")


def test_the_kv_cache_must_hold_one_sequence():
    result = validate_plan(
        plan(
            model="llama-2-70b",
            tensor_parallel=2,
            gpu_count=2,
            max_input_len=100_000,
            max_seq_len=400_000,
            max_num_tokens=8192,
        )
    )
    assert "less than one sequence of max_seq_len 400000" in messages(result)["max_seq_len"]


def test_unknown_gpu_and_unknown_model():
    result = validate_plan(plan(gpu_type="TPU-v5", gpu_count=1))
    assert messages(result)["gpu_type"].startswith(
        "unknown GPU type 'TPU-v5'; use one of H100-80GB"
    )
    assert validate_plan(plan(gpu_type="TPU-v5", gpu_count=1, gpu_memory_gib=40.0)).valid
    with pytest.raises(NotFoundError):
        validate_plan(plan(model="my-own-model"))
    with pytest.raises(InvalidArgumentError, match="gpu_type is not set"):
        plan_capacity(plan(gpu_type=""))


def test_negative_values_are_refused_before_anything_else():
    result = validate_plan(plan(tensor_parallel=-2, kv_cache_free_gpu_mem_fraction=1.5))
    assert set(messages(result)) == {"tensor_parallel", "kv_cache_free_gpu_mem_fraction"}
    assert result.estimate is None


def test_serving_ports_must_be_distinct():
    deployment = prepare(
        plan(tensor_parallel=4, instances=2),
        ServingOptions(http_port=8000, grpc_port=8001, metrics_port=8001),
    )
    errors = [(i.field, i.message) for i in deployment.issues if i.severity is Severity.ERROR]
    assert (
        "serving.metrics_port",
        "instance 0 metrics port 8001 is also instance 0 grpc's; every listener needs its "
        "own port (instance i adds i x instance_port_offset)",
    ) in errors
    clash = prepare(plan(tensor_parallel=4, instances=2), ServingOptions(instance_port_offset=1))
    assert not clash.valid  # 8000+1 is instance 0's grpc port


def test_serving_paths_must_be_absolute_and_bls_port_is_flagged():
    deployment = prepare(
        plan(tensor_parallel=1, gpu_count=1),
        ServingOptions(engine_dir="engines/llama", grpc_port=9001),
    )
    fields = {i.field: i for i in deployment.issues}
    assert fields["serving.engine_dir"].severity is Severity.ERROR
    assert fields["serving.grpc_port"].severity is Severity.WARNING
    assert "localhost:8001" in fields["serving.grpc_port"].message


def test_llmapi_serving_checks():
    int8_kv = prepare(plan(gpu_count=1, kv_cache_dtype="int8"), ServingOptions(flavour="llmapi"))
    assert not int8_kv.valid
    fp8 = prepare(plan(gpu_count=1, dtype="fp8"), ServingOptions(flavour="llmapi"))
    assert any("pre-quantized" in i.message for i in fp8.issues)
