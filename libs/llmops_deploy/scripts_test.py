"""Engine build, launch and compose artifacts: their flags are TensorRT-LLM's and Triton's
own, and the parallelism agrees across all of them."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess

import pytest
import yaml

from llmops_deploy import DeploymentPlan, ServingOptions, artifacts, launch_argv, prepare
from llmops_deploy._pbtxt import loads, parameters


def _words(text: str) -> set[str]:
    return set(text.split())


# Flags of trtllm-build: tensorrt_llm/commands/build.py (parse_arguments) and the
# plugin flags of tensorrt_llm/plugin/plugin.py (cli_plugin_args), NVIDIA/TensorRT-LLM.
TRTLLM_BUILD_FLAGS = _words(
    """checkpoint_dir model_config build_config model_cls_file model_cls_name output_dir
    max_batch_size max_input_len max_seq_len max_decoder_seq_len max_beam_width max_num_tokens
    opt_num_tokens max_encoder_input_len max_prompt_embedding_table_size max_multimodal_len
    kv_cache_type paged_kv_cache input_timing_cache output_timing_cache profiling_verbosity
    strip_plan weight_sparsity weight_streaming fast_build workers log_level
    enable_debug_output visualize_network dry_run monitor_memory logits_dtype
    gather_context_logits gather_generation_logits gather_all_token_logits lora_dir
    lora_ckpt_source lora_target_modules max_lora_rank speculative_decoding_mode max_draft_len
    auto_parallel gpus_per_node cluster_key bert_attention_plugin gpt_attention_plugin
    gemm_plugin gemm_swiglu_plugin fp8_rowwise_gemm_plugin lora_plugin dora_plugin moe_plugin
    mamba_conv1d_plugin nccl_plugin low_latency_gemm_plugin low_latency_gemm_swiglu_plugin
    gemm_allreduce_plugin context_fmha bert_context_fmha_fp32_acc remove_input_padding
    tokens_per_block use_paged_context_fmha use_fp8_context_fmha fuse_fp4_quant
    multiple_profiles paged_state streamingllm norm_quant_fusion reduce_fusion user_buffer
    use_fused_mlp pp_reduce_scatter"""
)
# Flags of examples/{llama,qwen}/convert_checkpoint.py this package passes (both have them).
CONVERT_FLAGS = _words(
    """model_dir output_dir dtype tp_size pp_size use_weight_only weight_only_precision
    int8_kv_cache calib_dataset use_parallel_embedding workers"""
)
# examples/quantization/quantize.py.
QUANTIZE_FLAGS = _words(
    "model_dir output_dir dtype qformat kv_cache_dtype calib_dataset tp_size pp_size "
    "calib_size batch_size"
)
QFORMATS = {"nvfp4", "fp8", "int8_sq", "int4_awq", "w4a8_awq", "int8_wo", "int4_wo", "full_prec"}


def deployment(flavour="ensemble", serving=None, **fields):
    plan = {
        "model": "llama-3-70b",
        "gpu_type": "H100-80GB",
        "gpu_count": 8,
        "gpu_ids": [4, 5, 6, 7],
        "tensor_parallel": 4,
        "kv_cache_dtype": "fp8",
        "max_batch_size": 64,
        "max_input_len": 3072,
        "max_seq_len": 4096,
        "max_num_tokens": 8192,
    }
    plan.update(fields)
    d = prepare(DeploymentPlan(**plan), ServingOptions(flavour=flavour, **(serving or {})))
    assert d.valid, d.issues
    return d


def command_flags(script: str, program: str) -> dict[str, str]:
    """``--flag value`` pairs of the (backslash-continued) command that starts with program."""
    joined = script.replace("\\\n", " ")
    line = next(line for line in joined.splitlines() if program in line.split(" ")[0:2])
    words = shlex.split(line)
    flags, i = {}, 0
    while i < len(words):
        if words[i].startswith("--"):
            value = words[i + 1] if i + 1 < len(words) and not words[i + 1].startswith("--") else ""
            flags[words[i][2:]] = value
        i += 1
    return flags


def test_build_uses_real_flags_and_the_plans_parallelism():
    d = deployment(dtype="fp16", kv_cache_dtype="fp16", tensor_parallel=2, pipeline_parallel=2)
    script = artifacts(d)["scripts/build_engine.sh"]
    convert = command_flags(script, "python3")
    build = command_flags(script, "trtllm-build")
    assert set(convert) <= CONVERT_FLAGS, set(convert) - CONVERT_FLAGS
    assert set(build) <= TRTLLM_BUILD_FLAGS, set(build) - TRTLLM_BUILD_FLAGS
    assert (convert["tp_size"], convert["pp_size"]) == ("2", "2")
    assert convert["dtype"] == "float16" and "use_parallel_embedding" in convert
    assert build["workers"] == convert["workers"] == str(d.plan.world_size)
    assert build["kv_cache_type"] == "paged"
    assert build["remove_input_padding"] == build["use_paged_context_fmha"] == "enable"
    assert build["gemm_plugin"] == build["gpt_attention_plugin"] == "float16"
    assert (build["max_batch_size"], build["max_input_len"], build["max_seq_len"]) == (
        "64",
        "3072",
        "4096",
    )
    assert build["max_num_tokens"] == "8192"
    assert 'python3 - "$CHECKPOINT_DIR/config.json" 2 2' in script  # mapping checked
    assert "for rank in $(seq 0 3)" in script


def test_fp8_kv_and_weights_go_through_modelopt_quantization():
    fp8_kv = command_flags(artifacts(deployment())["scripts/build_engine.sh"], "python3")
    assert set(fp8_kv) <= QUANTIZE_FLAGS
    assert (fp8_kv["qformat"], fp8_kv["kv_cache_dtype"]) == ("full_prec", "fp8")
    fp8 = command_flags(artifacts(deployment(dtype="fp8"))["scripts/build_engine.sh"], "python3")
    assert fp8["qformat"] == "fp8" and fp8["qformat"] in QFORMATS
    int8 = command_flags(
        artifacts(deployment(dtype="int8", kv_cache_dtype="int8"))["scripts/build_engine.sh"],
        "python3",
    )
    assert "use_weight_only" in int8 and int8["weight_only_precision"] == "int8"
    assert "int8_kv_cache" in int8


def test_qwen_converts_with_its_own_example():
    d = deployment(model="qwen2-72b", dtype="bf16", kv_cache_dtype="bf16")
    script = artifacts(d)["scripts/build_engine.sh"]
    assert "examples/models/core/qwen/convert_checkpoint.py" in script
    assert '"$TRTLLM_SRC/examples/qwen/convert_checkpoint.py"' in script  # older layout


def test_launch_has_one_rank_per_gpu_and_ports_on_rank_zero():
    d = deployment()
    argv = launch_argv(d.plan, d.serving, 0)
    assert argv[:2] == ["mpirun", "--allow-run-as-root"]
    ranks = " ".join(argv[2:]).split(" : ")
    assert len(ranks) == d.plan.world_size == 4
    prefixes = set()
    for rank, words in enumerate(r.split() for r in ranks):
        assert words[:3] == ["-n", "1", "/opt/tritonserver/bin/tritonserver"]
        assert "--model-repository=/deploy/model_repository" in words
        assert "--disable-auto-complete-config" in words
        prefix = next(
            w for w in words if w.startswith("--backend-config=python,shm-region-prefix-name=")
        )
        prefixes.add(prefix)
        ports = [w for w in words if re.match(r"--(grpc|http|metrics)-port=", w)]
        if rank == 0:
            assert ports == ["--grpc-port=8001", "--http-port=8000", "--metrics-port=8002"]
            assert prefix.endswith("=prefix0_")
        else:
            assert ports == []
            assert "--model-control-mode=explicit" in words and "--load-model=tensorrt_llm" in words
            assert {"--allow-http=false", "--allow-grpc=false", "--allow-metrics=false"} <= set(
                words
            )
    assert len(prefixes) == 4


def test_engine_launch_and_repository_agree_on_the_gpus():
    d = deployment()
    files = artifacts(d)
    build = command_flags(files["scripts/build_engine.sh"], "python3")
    tp_x_pp = int(build["tp_size"]) * int(build["pp_size"])
    launch = files["scripts/launch-0.sh"]
    assert launch.count('-n 1 "$TRITONSERVER"') == tp_x_pp
    assert 'export CUDA_VISIBLE_DEVICES="${LLMOPS_GPU_IDS:-4,5,6,7}"' in launch
    device_ids = parameters(loads(files["model_repository/tensorrt_llm/config.pbtxt"]))[
        "gpu_device_ids"
    ]
    assert len(device_ids.split(",")) == tp_x_pp == len(d.plan.instance_gpu_ids(0))
    engine = d.serving.engine_dir
    assert f'ENGINE_DIR="${{ENGINE_DIR:-{engine}}}"' in files["scripts/build_engine.sh"]
    assert f'ENGINE_DIR="${{ENGINE_DIR:-{engine}}}"' in launch


def test_instances_get_their_own_gpus_ports_and_shm_prefixes():
    d = deployment(gpu_ids=[], instances=2)
    files = artifacts(d)
    first, second = (launch_argv(d.plan, d.serving, i) for i in (0, 1))
    assert "--http-port=8100" in second and "--grpc-port=8101" in second
    prefixes = [w for w in first + second if "shm-region-prefix-name" in w]
    assert len(set(prefixes)) == 8
    assert '"${LLMOPS_GPU_IDS:-4,5,6,7}"' in files["scripts/launch-1.sh"]
    compose = yaml.safe_load(files["compose.yaml"])["services"]
    assert set(compose) == {"triton-llm-0", "triton-llm-1"}
    one = compose["triton-llm-1"]
    device = one["deploy"]["resources"]["reservations"]["devices"][0]
    assert device["device_ids"] == ["4", "5", "6", "7"] and device["capabilities"] == ["gpu"]
    assert one["environment"]["LLMOPS_GPU_IDS"] == "0,1,2,3"  # renumbered inside the container
    assert one["ports"] == ["8100:8100", "8101:8101", "8102:8102"]
    assert one["command"] == ["bash", "/deploy/scripts/launch-1.sh"]


def test_llmapi_launch_is_a_single_process():
    d = deployment(flavour="llmapi", gpu_ids=[], gpu_count=4)
    argv = launch_argv(d.plan, d.serving, 0)
    assert argv.count("-n") == 1 and ":" not in argv
    assert "tensorrt_llm/1/model.py" in artifacts(d)["scripts/launch-0.sh"]


def test_official_template_fill_uses_the_templates_variables():
    d = deployment()
    script = artifacts(d)["scripts/fill_official_templates.sh"]
    fills = re.findall(r'-i "\$OUT/(\w+)/config.pbtxt" (.+)', script)
    assert [m for m, _ in fills] == [
        "preprocessing",
        "tensorrt_llm",
        "postprocessing",
        "ensemble",
        "tensorrt_llm_bls",
    ]
    trt = dict(
        re.split(r"(?<!\\):", pair, maxsplit=1)
        for pair in re.split(r"(?<!\\),", shlex.split(fills[1][1])[0])
    )
    assert trt["engine_dir"] == d.serving.engine_dir
    assert trt["batching_strategy"] == "inflight_fused_batching"
    assert trt["gpu_device_ids"] == "0\\,1\\,2\\,3"  # fill_template.py's escaped comma
    assert trt["triton_backend"] == "tensorrtllm" and trt["decoupled_mode"] == "true"


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
@pytest.mark.parametrize("flavour", ["ensemble", "llmapi"])
def test_every_script_is_valid_bash(flavour, tmp_path):
    d = deployment(flavour=flavour, gpu_ids=[], gpu_count=4)
    for path, text in artifacts(d).items():
        if not path.endswith(".sh"):
            continue
        script = tmp_path / path.replace("/", "_")
        script.write_text(text)
        checked = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        assert checked.returncode == 0, f"{path}: {checked.stderr}"
        assert text.startswith("#!/usr/bin/env bash\n") and "set -euo pipefail" in text


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_scripts_stop_early_without_a_gpu(tmp_path):
    """Here (no NVIDIA driver) every script ends at its first check, saying why."""
    if shutil.which("nvidia-smi"):
        pytest.skip("this machine has an NVIDIA driver")
    d = deployment(gpu_ids=[], gpu_count=4)
    files = artifacts(d)
    for name in ("scripts/build_engine.sh", "scripts/launch-0.sh"):
        script = tmp_path / name.replace("/", "_")
        script.write_text(files[name])
        done = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=30)
        assert done.returncode == 1
        assert "error: no NVIDIA driver (nvidia-smi not found)" in done.stderr
