"""The known-model table against the published parameter counts of each model."""

from __future__ import annotations

import json

import pytest

from llmops_core.errors import InvalidArgumentError, NotFoundError
from llmops_deploy import (
    KNOWN_MODELS,
    ModelArchitecture,
    ModelSpec,
    canonical_model_name,
    load_model_spec,
    lookup_gpu,
    lookup_model,
)

# Parameter counts Hugging Face shows for each checkpoint (safetensors metadata of
# https://huggingface.co/<repo>); the table holds only config.json fields, so these check
# that the fields and the per-layer arithmetic are right.
PUBLISHED_PARAMETERS = {
    "llama-2-7b": 6_738_415_616,
    "llama-2-13b": 13_015_864_320,
    "llama-2-70b": 68_976_648_192,
    "llama-3-8b": 8_030_261_248,
    "llama-3-70b": 70_553_706_496,
    "mistral-7b": 7_241_732_096,
    "mixtral-8x7b": 46_702_792_704,
    "qwen2-72b": 72_706_203_648,
    "smollm2-135m": 134_515_008,
}


@pytest.mark.parametrize("name,count", sorted(PUBLISHED_PARAMETERS.items()))
def test_parameter_count_matches_the_published_one(name, count):
    assert lookup_model(name).parameter_count == count


@pytest.mark.parametrize(
    "given,canonical",
    [
        ("meta-llama/Meta-Llama-3-70B-Instruct", "llama-3-70b"),
        ("meta-llama/Llama-2-70b-chat-hf", "llama-2-70b"),
        ("mistralai/Mistral-7B-Instruct-v0.2", "mistral-7b"),
        ("mistralai/Mixtral-8x7B-Instruct-v0.1", "mixtral-8x7b"),
        ("Qwen/Qwen2-72B-Instruct", "qwen2-72b"),
        ("HuggingFaceTB/SmolLM2-135M-Instruct", "smollm2-135m"),
        ("LLAMA-3.1-8B", "llama-3.1-8b"),
    ],
)
def test_hugging_face_ids_resolve_to_the_table(given, canonical):
    assert canonical_model_name(given) == canonical
    assert lookup_model(given).name == canonical


def test_unknown_model_says_what_to_give():
    with pytest.raises(NotFoundError, match="give its architecture") as raised:
        lookup_model("gpt-5-mini")
    assert "llama-3-70b" in str(raised.value)


def test_a_hugging_face_config_json_is_read(tmp_path):
    spec = KNOWN_MODELS["smollm2-135m"]
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": spec.hidden_size,
        "intermediate_size": spec.intermediate_size,
        "num_hidden_layers": spec.num_layers,
        "num_attention_heads": spec.num_attention_heads,
        "num_key_value_heads": spec.num_kv_heads,
        "vocab_size": spec.vocab_size,
        "max_position_embeddings": spec.max_position_embeddings,
        "tie_word_embeddings": True,
    }
    folder = tmp_path / "SmolLM2-135M-Instruct"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(config))
    for given in (folder, folder / "config.json"):
        loaded = load_model_spec(str(given))
        assert loaded.name == "SmolLM2-135M-Instruct"
        assert loaded.parameter_count == PUBLISHED_PARAMETERS["smollm2-135m"]
        assert loaded.family == "llama"


def test_a_config_without_the_needed_fields_is_refused(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert", "hidden_size": 768}))
    with pytest.raises(InvalidArgumentError, match="lacks num_attention_heads"):
        load_model_spec(str(tmp_path / "config.json"))


def test_an_architecture_message_alone_recovers_the_mlp_width():
    """From the API message (no intermediate_size), the MLP width is derived back."""
    known = KNOWN_MODELS["llama-2-70b"]
    spec = ModelSpec.from_architecture("custom", known.architecture())
    assert spec.intermediate_size == known.intermediate_size
    assert spec.parameter_count == known.parameter_count


def test_an_architecture_message_needs_its_shape():
    with pytest.raises(InvalidArgumentError, match="lacks num_layers"):
        ModelSpec.from_architecture("x", ModelArchitecture(hidden_size=4096))


@pytest.mark.parametrize(
    "name,canonical,gib",
    [
        ("h100", "H100-80GB", 79.65),  # nvidia-smi: 81559MiB
        ("H100-80GB", "H100-80GB", 79.65),
        ("a100-40gb", "A100-40GB", 40.0),
        ("l4", "L4", 22.49),  # 23034MiB
        ("H200", "H200", 140.4),  # 143771MiB
    ],
)
def test_gpu_types(name, canonical, gib):
    gpu = lookup_gpu(name)
    assert gpu.name == canonical
    assert gpu.memory_gib == pytest.approx(gib, abs=0.01)
    assert lookup_gpu("tpu-v5") is None
