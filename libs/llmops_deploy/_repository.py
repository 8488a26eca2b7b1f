"""The Triton model repository of a plan, as ``config.pbtxt`` messages per model.

``ensemble`` flavour: TensorRT-LLM's inflight_batcher_llm layout (preprocessing ->
tensorrt_llm -> postprocessing as ``ensemble``, and ``tensorrt_llm_bls``), with the
parameter keys of the official templates. ``llmapi`` flavour: the LLM-API backend's
single ``tensorrt_llm`` Python model plus its ``1/model.yaml``.
"""

from __future__ import annotations

import yaml

from llmops_deploy._models import DeploymentPlan
from llmops_deploy._pbtxt import Enum, Message, msg
from llmops_deploy._precision import Precision, activation_precision
from llmops_deploy._serving import ServingOptions
from llmops_deploy._templates import (
    BLS_INPUTS,
    BLS_OUTPUTS,
    ENSEMBLE_INPUTS,
    ENSEMBLE_OUTPUTS,
    ENSEMBLE_STEPS,
    EXECUTOR_WORKER_PATH,
    LLMAPI_INPUTS,
    LLMAPI_OUTPUTS,
    POSTPROCESSING_INPUTS,
    POSTPROCESSING_OUTPUTS,
    PREPROCESSING_INPUTS,
    PREPROCESSING_OUTPUTS,
    TENSORRT_LLM_INPUTS,
    TENSORRT_LLM_OUTPUTS,
    Tensor,
)

ENSEMBLE_MODELS = (
    "preprocessing",
    "tensorrt_llm",
    "postprocessing",
    "ensemble",
    "tensorrt_llm_bls",
)
LLMAPI_MODELS = ("tensorrt_llm",)


def gpu_device_ids(plan: DeploymentPlan) -> list[int]:
    """Device ordinals one instance's ranks use, counted within its CUDA_VISIBLE_DEVICES.

    The launch makes exactly the instance's GPUs visible, so the ids are 0..world_size-1
    whichever physical GPUs those are, and one repository serves every instance.
    """
    return list(range(plan.world_size))


def _type_variables(plan: DeploymentPlan) -> dict[str, str]:
    act = activation_precision(plan.dtype)
    table_type = {Precision.BF16: "BF16", Precision.FP32: "FP32"}.get(act, "FP16")
    return {"$logits": "FP32", "$encoder": table_type, "$prompt_table": table_type}


def _tensor(t: Tensor, types: dict[str, str]) -> Message:
    m = msg(
        ("name", t.name),
        ("data_type", Enum("TYPE_" + types.get(t.data_type, t.data_type))),
        ("dims", list(t.dims)),
    )
    if t.reshape:
        m.append(("reshape", msg(("shape", []))))
    if t.ragged:
        m.append(("allow_ragged_batch", True))
    if t.optional:
        m.append(("optional", True))
    return m


def _io(inputs, outputs, types) -> list[tuple[str, object]]:
    return [
        ("input", [_tensor(t, types) for t in inputs]),
        ("output", [_tensor(t, types) for t in outputs]),
    ]


def _parameters(values: dict[str, str]) -> list[tuple[str, object]]:
    return [
        ("parameters", msg(("key", key), ("value", msg(("string_value", value)))))
        for key, value in values.items()
    ]


def _cpu_instances(count: int) -> tuple[str, object]:
    return ("instance_group", [msg(("count", count), ("kind", Enum("KIND_CPU")))])


def _dynamic_batching(batch: int) -> tuple[str, object]:
    return (
        "dynamic_batching",
        msg(
            ("preferred_batch_size", [batch]),
            ("max_queue_delay_microseconds", 0),
            ("default_queue_policy", msg(("max_queue_size", 0))),
        ),
    )


def bool_text(value: bool) -> str:
    return "true" if value else "false"


def tensorrt_llm_parameters(plan: DeploymentPlan, serving: ServingOptions) -> dict[str, str]:
    """The tensorrt_llm model's parameters (official keys), from the plan."""
    return {
        "max_beam_width": "1",
        "FORCE_CPU_ONLY_INPUT_TENSORS": "no",
        "gpt_model_type": "inflight_fused_batching",
        "gpt_model_path": serving.engine_dir,
        "batch_scheduler_policy": serving.batch_scheduler_policy,
        "kv_cache_free_gpu_mem_fraction": f"{plan.kv_cache_free_gpu_mem_fraction:g}",
        "exclude_input_in_output": "true",
        "enable_kv_cache_reuse": bool_text(serving.enable_kv_cache_reuse),
        # Prompts longer than max_num_tokens are only accepted in chunks.
        "enable_chunked_context": bool_text(plan.max_num_tokens < plan.max_input_len),
        "gpu_device_ids": ",".join(str(i) for i in gpu_device_ids(plan)),
        "executor_worker_path": EXECUTOR_WORKER_PATH,
        "tokenizer_dir": serving.tokenizer_dir,
    }


def ensemble_repository(plan: DeploymentPlan, serving: ServingOptions) -> dict[str, Message]:
    """config.pbtxt of the five models of the inflight_batcher_llm layout."""
    types = _type_variables(plan)
    batch = plan.max_batch_size
    decoupled = ("model_transaction_policy", msg(("decoupled", serving.decoupled)))
    configs = {
        "preprocessing": msg(
            ("name", "preprocessing"),
            ("backend", "python"),
            ("max_batch_size", batch),
            _dynamic_batching(batch),
            *_io(PREPROCESSING_INPUTS, PREPROCESSING_OUTPUTS, types),
            *_parameters(
                {
                    "tokenizer_dir": serving.tokenizer_dir,
                    "add_special_tokens": "true",
                    "multimodal_model_path": "",
                    "gpt_model_path": serving.engine_dir,
                    "max_num_images": "",
                    "hf_model_path": "",
                }
            ),
            _cpu_instances(serving.preprocessing_instance_count),
        ),
        "tensorrt_llm": msg(
            ("name", "tensorrt_llm"),
            ("backend", "tensorrtllm"),
            ("max_batch_size", batch),
            decoupled,
            _dynamic_batching(batch),
            *_io(TENSORRT_LLM_INPUTS, TENSORRT_LLM_OUTPUTS, types),
            # One model instance drives all ranks; the ranks are the MPI processes.
            _cpu_instances(1),
            *_parameters(tensorrt_llm_parameters(plan, serving)),
        ),
        "postprocessing": msg(
            ("name", "postprocessing"),
            ("backend", "python"),
            ("max_batch_size", batch),
            ("dynamic_batching", msg()),
            *_io(POSTPROCESSING_INPUTS, POSTPROCESSING_OUTPUTS, types),
            *_parameters({"tokenizer_dir": serving.tokenizer_dir, "skip_special_tokens": "true"}),
            _cpu_instances(serving.postprocessing_instance_count),
        ),
        "ensemble": msg(
            ("name", "ensemble"),
            ("platform", "ensemble"),
            ("max_batch_size", batch),
            *_io(ENSEMBLE_INPUTS, ENSEMBLE_OUTPUTS, types),
            (
                "ensemble_scheduling",
                msg(
                    (
                        "step",
                        [
                            msg(
                                ("model_name", model),
                                ("model_version", -1),
                                *[
                                    ("input_map", msg(("key", k), ("value", v)))
                                    for k, v in inputs.items()
                                ],
                                *[
                                    ("output_map", msg(("key", k), ("value", v)))
                                    for k, v in outputs.items()
                                ],
                            )
                            for model, inputs, outputs in ENSEMBLE_STEPS
                        ],
                    )
                ),
            ),
        ),
        "tensorrt_llm_bls": msg(
            ("name", "tensorrt_llm_bls"),
            ("backend", "python"),
            ("max_batch_size", batch),
            decoupled,
            *_io(BLS_INPUTS, BLS_OUTPUTS, types),
            *_parameters(
                {
                    "accumulate_tokens": "false",
                    "tensorrt_llm_model_name": "tensorrt_llm",
                    "tensorrt_llm_draft_model_name": "",
                    "multimodal_encoders_name": "",
                }
            ),
            _cpu_instances(serving.bls_instance_count),
        ),
    }
    return configs


def llmapi_repository(plan: DeploymentPlan, serving: ServingOptions) -> dict[str, Message]:
    """config.pbtxt of the LLM-API backend's ``tensorrt_llm`` model.

    The official template leaves max_batch_size and decoupled to model.yaml through
    auto-complete, which the launch turns off (``--disable-auto-complete-config``, as the
    official launch script does); so both are written here, equal to model.yaml's.
    """
    types = _type_variables(plan)
    return {
        "tensorrt_llm": msg(
            ("name", "tensorrt_llm"),
            ("backend", "python"),
            ("max_batch_size", 0),  # the LLM API batches itself; Triton passes requests one by one
            ("model_transaction_policy", msg(("decoupled", serving.decoupled))),
            _cpu_instances(1),
            *_io(LLMAPI_INPUTS, LLMAPI_OUTPUTS, types),
        )
    }


def llmapi_model_yaml(plan: DeploymentPlan, serving: ServingOptions) -> str:
    """``tensorrt_llm/1/model.yaml``: keyword arguments of ``tensorrt_llm.LLM()``."""
    act = activation_precision(plan.dtype)
    config = {
        "model": serving.hf_model_dir,
        "tokenizer": serving.tokenizer_dir,
        "backend": "pytorch",
        "dtype": "auto" if plan.dtype.is_quantized else act.torch_name,
        "tensor_parallel_size": plan.tensor_parallel,
        "pipeline_parallel_size": plan.pipeline_parallel,
        "max_batch_size": plan.max_batch_size,
        "max_input_len": plan.max_input_len,
        "max_seq_len": plan.max_seq_len,
        "max_num_tokens": plan.max_num_tokens,
        "kv_cache_config": {
            "free_gpu_memory_fraction": plan.kv_cache_free_gpu_mem_fraction,
            "dtype": "fp8" if plan.kv_cache_dtype is Precision.FP8 else "auto",
            "enable_block_reuse": serving.enable_kv_cache_reuse,
        },
        "triton_config": {"max_batch_size": 0, "decoupled": serving.decoupled},
    }
    header = (
        "# TensorRT-LLM LLM-API model: every key but triton_config is an argument of\n"
        "# tensorrt_llm.LLM(); triton_config must match config.pbtxt. Generated by\n"
        "# `llmops deploy render`: re-render rather than edit.\n"
    )
    return header + yaml.safe_dump(config, sort_keys=False)


def repository(plan: DeploymentPlan, serving: ServingOptions) -> dict[str, Message]:
    if serving.flavour == "llmapi":
        return llmapi_repository(plan, serving)
    return ensemble_repository(plan, serving)
