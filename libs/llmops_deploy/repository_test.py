"""The generated Triton model repository: every config parses and agrees with the plan,
the other configs and the official templates' parameter keys."""

from __future__ import annotations

import pytest
import yaml

from llmops_deploy import DeploymentPlan, ServingOptions, artifacts, prepare
from llmops_deploy._pbtxt import Enum, field, fields, loads, parameters
from llmops_deploy._templates import OFFICIAL_PARAMETER_KEYS


def deployment(flavour="ensemble", **fields):
    plan = {
        "model": "llama-3-70b",
        "gpu_type": "H100-80GB",
        "gpu_count": 8,
        "gpu_ids": [4, 5, 6, 7],
        "tensor_parallel": 4,
        "dtype": "fp16",
        "kv_cache_dtype": "fp8",
        "max_batch_size": 64,
        "max_input_len": 3072,
        "max_seq_len": 4096,
        "max_num_tokens": 8192,
    }
    plan.update(fields)
    serving = ServingOptions(
        flavour=flavour,
        hf_model_dir="/models/hf/Meta-Llama-3-70B-Instruct",
        work_dir="/models/trtllm/llama-3-70b-tp4",
    )
    result = prepare(DeploymentPlan(**plan), serving)
    assert result.valid, result.issues
    return result


def configs(files: dict[str, str]) -> dict:
    return {
        path.split("/")[1]: loads(text)
        for path, text in files.items()
        if path.endswith("config.pbtxt")
    }


@pytest.fixture(scope="module")
def ensemble():
    d = deployment()
    return d, configs(artifacts(d))


def test_the_five_models_of_the_inflight_batcher_layout(ensemble):
    d, models = ensemble
    assert set(models) == {
        "preprocessing",
        "tensorrt_llm",
        "postprocessing",
        "ensemble",
        "tensorrt_llm_bls",
    }
    for name, config in models.items():
        assert field(config, "name") == name
        assert field(config, "max_batch_size") == 64  # triton_max_batch_size everywhere
    assert field(models["tensorrt_llm"], "backend") == "tensorrtllm"
    assert field(models["ensemble"], "platform") == "ensemble"
    for python_model in ("preprocessing", "postprocessing", "tensorrt_llm_bls"):
        assert field(models[python_model], "backend") == "python"


def test_tensorrt_llm_parameters_come_from_the_plan(ensemble):
    d, models = ensemble
    params = parameters(models["tensorrt_llm"])
    assert params["gpt_model_type"] == "inflight_fused_batching"
    assert (
        params["gpt_model_path"] == d.serving.engine_dir == "/models/trtllm/llama-3-70b-tp4/engine"
    )
    assert params["kv_cache_free_gpu_mem_fraction"] == "0.9"
    assert params["batch_scheduler_policy"] == "guaranteed_no_evict"
    assert params["exclude_input_in_output"] == "true"
    assert params["enable_chunked_context"] == "false"  # max_num_tokens >= max_input_len
    assert params["tokenizer_dir"] == "/models/hf/Meta-Llama-3-70B-Instruct"
    # Ordinals within CUDA_VISIBLE_DEVICES=4,5,6,7: one per rank, world_size of them.
    assert params["gpu_device_ids"] == "0,1,2,3"
    assert len(params["gpu_device_ids"].split(",")) == d.plan.world_size
    policy = field(models["tensorrt_llm"], "model_transaction_policy")
    assert field(policy, "decoupled") is True
    assert field(field(models["tensorrt_llm_bls"], "model_transaction_policy"), "decoupled") is True


def test_parameter_keys_are_the_official_templates(ensemble):
    _, models = ensemble
    for name, config in models.items():
        keys = set(parameters(config))
        assert keys <= OFFICIAL_PARAMETER_KEYS[name], keys - OFFICIAL_PARAMETER_KEYS[name]
    # The official Python models read these keys unconditionally.
    assert {"tokenizer_dir", "multimodal_model_path"} <= set(parameters(models["preprocessing"]))
    assert (
        parameters(models["postprocessing"])["tokenizer_dir"]
        == parameters(models["preprocessing"])["tokenizer_dir"]
    )
    assert parameters(models["tensorrt_llm_bls"])["tensorrt_llm_model_name"] == "tensorrt_llm"


def _tensors(config, kind):
    return {field(t, "name"): t for t in fields(config, kind)}


def test_ensemble_steps_connect_existing_tensors_of_matching_types(ensemble):
    _, models = ensemble
    ensemble_config = models["ensemble"]
    available = {n: field(t, "data_type") for n, t in _tensors(ensemble_config, "input").items()}
    steps = fields(field(ensemble_config, "ensemble_scheduling"), "step")
    assert [field(s, "model_name") for s in steps] == [
        "preprocessing",
        "tensorrt_llm",
        "postprocessing",
    ]
    for step in steps:
        model = models[field(step, "model_name")]
        inputs, outputs = _tensors(model, "input"), _tensors(model, "output")
        for mapping in fields(step, "input_map"):
            key, value = field(mapping, "key"), field(mapping, "value")
            assert key in inputs, key
            assert value in available, value
            assert field(inputs[key], "data_type") == available[value], key
        for mapping in fields(step, "output_map"):
            key, value = field(mapping, "key"), field(mapping, "value")
            assert key in outputs, key
            available[value] = field(outputs[key], "data_type")
    for name, tensor in _tensors(ensemble_config, "output").items():
        assert available.get(name) == field(tensor, "data_type"), name
    required = [
        n for n, t in _tensors(models["tensorrt_llm"], "input").items() if not field(t, "optional")
    ]
    mapped = {field(m, "key") for m in fields(steps[1], "input_map")}
    assert set(required) <= mapped


def test_the_client_contract_of_the_llmops_triton_plugin(ensemble):
    """plugins/llmops_triton sends these tensors to `ensemble` (see its _flavours.py)."""
    _, models = ensemble
    inputs = _tensors(models["ensemble"], "input")
    for name, data_type in {
        "text_input": "TYPE_STRING",
        "max_tokens": "TYPE_INT32",
        "temperature": "TYPE_FP32",
        "top_p": "TYPE_FP32",
        "top_k": "TYPE_INT32",
        "stop_words": "TYPE_STRING",
        "stream": "TYPE_BOOL",
        "exclude_input_in_output": "TYPE_BOOL",
        "return_num_input_tokens": "TYPE_BOOL",
        "return_num_output_tokens": "TYPE_BOOL",
    }.items():
        assert field(inputs[name], "data_type") == Enum(data_type), name
    outputs = _tensors(models["ensemble"], "output")
    assert {"text_output", "num_input_tokens", "num_output_tokens"} <= set(outputs)


def test_chunked_context_when_prompts_exceed_a_step():
    d = deployment(max_num_tokens=2048)
    params = parameters(configs(artifacts(d))["tensorrt_llm"])
    assert params["enable_chunked_context"] == "true"


def test_bf16_engines_get_bf16_table_types():
    d = deployment(dtype="bf16", kv_cache_dtype="bf16")
    inputs = _tensors(configs(artifacts(d))["tensorrt_llm"], "input")
    assert field(inputs["prompt_embedding_table"], "data_type") == Enum("TYPE_BF16")
    assert field(inputs["draft_logits"], "data_type") == Enum("TYPE_FP32")  # logits stay FP32


def test_the_llmapi_repository_and_its_model_yaml():
    d = deployment(flavour="llmapi", gpu_ids=[], gpu_count=4)
    files = artifacts(d)
    models = configs(files)
    assert set(models) == {"tensorrt_llm"}
    config = models["tensorrt_llm"]
    assert field(config, "backend") == "python"
    assert field(field(config, "model_transaction_policy"), "decoupled") is True
    model_yaml = yaml.safe_load(files["model_repository/tensorrt_llm/1/model.yaml"])
    assert model_yaml["tensor_parallel_size"] == 4 and model_yaml["pipeline_parallel_size"] == 1
    assert model_yaml["model"] == "/models/hf/Meta-Llama-3-70B-Instruct"
    assert model_yaml["backend"] == "pytorch"
    assert model_yaml["kv_cache_config"] == {
        "free_gpu_memory_fraction": 0.9,
        "dtype": "fp8",
        "enable_block_reuse": False,
    }
    # triton_config must agree with config.pbtxt (auto-complete is off at launch).
    assert model_yaml["triton_config"] == {
        "max_batch_size": field(config, "max_batch_size"),
        "decoupled": True,
    }
    assert "scripts/build_engine.sh" not in files  # the LLM API builds nothing ahead
    inputs = _tensors(config, "input")
    for name in ("text_input", "streaming", "sampling_param_max_tokens", "sampling_param_stop"):
        assert name in inputs
