"""Known models (their Hugging Face ``config.json`` numbers) and GPU types.

Every model row copies the fields of the model's own ``config.json`` on the Hugging Face
Hub (URL beside the row); ``parameter_count`` is computed from them and checked against
the published counts in ``catalog_test.py``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path

from llmops_core.errors import InvalidArgumentError, NotFoundError
from llmops_deploy._models import ModelArchitecture


@dataclass(frozen=True)
class ModelSpec:
    """A decoder-only transformer in Hugging Face ``config.json`` terms.

    Richer than ``ModelArchitecture`` (the API message): the MLP width, experts, tied
    embeddings and QKV bias decide where the parameters sit, which the per-GPU sums need.
    """

    name: str
    num_layers: int
    hidden_size: int
    num_attention_heads: int
    num_kv_heads: int
    intermediate_size: int
    vocab_size: int
    max_position_embeddings: int
    head_dim: int = 0  # 0: hidden_size // num_attention_heads
    tie_word_embeddings: bool = False
    num_experts: int = 0  # 0: dense MLP
    qkv_bias: bool = False  # Qwen2 adds a bias to q, k and v
    family: str = "llama"  # TensorRT-LLM examples/<family>/convert_checkpoint.py
    hf_repo: str = ""
    # Set when the MLP width was derived from a parameter count, not read from a config.
    derived: bool = False
    declared_parameter_count: int = 0

    @property
    def head_size(self) -> int:
        return self.head_dim or self.hidden_size // self.num_attention_heads

    @property
    def attention_params_per_layer(self) -> int:
        h = self.hidden_size
        q = self.num_attention_heads * self.head_size
        kv = self.num_kv_heads * self.head_size
        weights = h * q + 2 * h * kv + q * h  # q, k, v, o projections
        return weights + ((q + 2 * kv) if self.qkv_bias else 0)

    @property
    def mlp_params_per_layer(self) -> int:
        gated = 3 * self.hidden_size * self.intermediate_size  # gate, up, down
        if self.num_experts:
            return self.num_experts * gated + self.hidden_size * self.num_experts  # + router
        return gated

    @property
    def params_per_layer(self) -> int:
        return self.attention_params_per_layer + self.mlp_params_per_layer + 2 * self.hidden_size

    @property
    def embedding_params(self) -> int:
        return self.vocab_size * self.hidden_size

    @property
    def parameter_count(self) -> int:
        if self.declared_parameter_count:
            return self.declared_parameter_count
        lm_head = 0 if self.tie_word_embeddings else self.embedding_params
        return (
            self.num_layers * self.params_per_layer
            + self.embedding_params
            + lm_head
            + self.hidden_size  # final norm
        )

    def architecture(self) -> ModelArchitecture:
        return ModelArchitecture(
            parameter_count=self.parameter_count,
            num_layers=self.num_layers,
            hidden_size=self.hidden_size,
            num_attention_heads=self.num_attention_heads,
            num_kv_heads=self.num_kv_heads,
            head_dim=self.head_size,
            vocab_size=self.vocab_size,
            max_position_embeddings=self.max_position_embeddings,
        )

    @classmethod
    def from_architecture(cls, name: str, arch: ModelArchitecture) -> ModelSpec:
        """A spec from the API message alone: the MLP width is derived from the parameter count
        (assuming untied embeddings, a gated dense MLP and no bias)."""
        missing = [
            f
            for f in ("num_layers", "hidden_size", "num_attention_heads", "vocab_size")
            if not getattr(arch, f)
        ]
        if missing:
            raise InvalidArgumentError(
                f"architecture of '{name}' lacks {', '.join(missing)}", reason="ARCHITECTURE"
            )
        if not arch.head_dim and arch.hidden_size % arch.num_attention_heads:
            raise InvalidArgumentError(
                f"hidden_size ({arch.hidden_size}) is not divisible by num_attention_heads "
                f"({arch.num_attention_heads}); give head_dim",
                reason="ARCHITECTURE",
            )
        spec = cls(
            name=name,
            num_layers=arch.num_layers,
            hidden_size=arch.hidden_size,
            num_attention_heads=arch.num_attention_heads,
            num_kv_heads=arch.kv_heads,
            head_dim=arch.head_dim,
            intermediate_size=0,
            vocab_size=arch.vocab_size,
            max_position_embeddings=arch.max_position_embeddings,
            derived=True,
        )
        if not arch.parameter_count:
            raise InvalidArgumentError(
                f"architecture of '{name}' lacks parameter_count", reason="ARCHITECTURE"
            )
        outside_layers = 2 * spec.embedding_params + spec.hidden_size
        per_layer = (arch.parameter_count - outside_layers) / arch.num_layers
        mlp = per_layer - spec.attention_params_per_layer - 2 * spec.hidden_size
        if mlp <= 0:
            raise InvalidArgumentError(
                f"parameter_count ({arch.parameter_count:,}) is too small for {arch.num_layers} "
                f"layers of hidden_size {arch.hidden_size} and a {arch.vocab_size}-token vocabulary",
                reason="ARCHITECTURE",
            )
        return replace(
            spec,
            intermediate_size=round(mlp / (3 * spec.hidden_size)),
            declared_parameter_count=arch.parameter_count,
        )


def _spec(name: str, hf_repo: str, **fields) -> ModelSpec:
    return ModelSpec(name=name, hf_repo=hf_repo, **fields)


# https://huggingface.co/<hf_repo>/blob/main/config.json for each row.
KNOWN_MODELS: dict[str, ModelSpec] = {
    s.name: s
    for s in (
        _spec(
            "llama-2-7b",
            "meta-llama/Llama-2-7b-hf",
            num_layers=32,
            hidden_size=4096,
            num_attention_heads=32,
            num_kv_heads=32,
            intermediate_size=11008,
            vocab_size=32000,
            max_position_embeddings=4096,
        ),
        _spec(
            "llama-2-13b",
            "meta-llama/Llama-2-13b-hf",
            num_layers=40,
            hidden_size=5120,
            num_attention_heads=40,
            num_kv_heads=40,
            intermediate_size=13824,
            vocab_size=32000,
            max_position_embeddings=4096,
        ),
        _spec(
            "llama-2-70b",
            "meta-llama/Llama-2-70b-hf",
            num_layers=80,
            hidden_size=8192,
            num_attention_heads=64,
            num_kv_heads=8,
            intermediate_size=28672,
            vocab_size=32000,
            max_position_embeddings=4096,
        ),
        _spec(
            "llama-3-8b",
            "meta-llama/Meta-Llama-3-8B",
            num_layers=32,
            hidden_size=4096,
            num_attention_heads=32,
            num_kv_heads=8,
            intermediate_size=14336,
            vocab_size=128256,
            max_position_embeddings=8192,
        ),
        _spec(
            "llama-3-70b",
            "meta-llama/Meta-Llama-3-70B",
            num_layers=80,
            hidden_size=8192,
            num_attention_heads=64,
            num_kv_heads=8,
            intermediate_size=28672,
            vocab_size=128256,
            max_position_embeddings=8192,
        ),
        _spec(
            "llama-3.1-8b",
            "meta-llama/Llama-3.1-8B",
            num_layers=32,
            hidden_size=4096,
            num_attention_heads=32,
            num_kv_heads=8,
            intermediate_size=14336,
            vocab_size=128256,
            max_position_embeddings=131072,
        ),
        _spec(
            "llama-3.1-70b",
            "meta-llama/Llama-3.1-70B",
            num_layers=80,
            hidden_size=8192,
            num_attention_heads=64,
            num_kv_heads=8,
            intermediate_size=28672,
            vocab_size=128256,
            max_position_embeddings=131072,
        ),
        _spec(
            "mistral-7b",
            "mistralai/Mistral-7B-v0.1",
            num_layers=32,
            hidden_size=4096,
            num_attention_heads=32,
            num_kv_heads=8,
            intermediate_size=14336,
            vocab_size=32000,
            max_position_embeddings=32768,
        ),
        _spec(
            "mixtral-8x7b",
            "mistralai/Mixtral-8x7B-v0.1",
            num_layers=32,
            hidden_size=4096,
            num_attention_heads=32,
            num_kv_heads=8,
            intermediate_size=14336,
            vocab_size=32000,
            max_position_embeddings=32768,
            num_experts=8,
        ),
        _spec(
            "qwen2-72b",
            "Qwen/Qwen2-72B",
            num_layers=80,
            hidden_size=8192,
            num_attention_heads=64,
            num_kv_heads=8,
            intermediate_size=29568,
            vocab_size=152064,
            max_position_embeddings=32768,
            qkv_bias=True,
            family="qwen",
        ),
        _spec(
            "smollm2-135m",
            "HuggingFaceTB/SmolLM2-135M",
            num_layers=30,
            hidden_size=576,
            num_attention_heads=9,
            num_kv_heads=3,
            intermediate_size=1536,
            vocab_size=49152,
            max_position_embeddings=8192,
            tie_word_embeddings=True,
        ),
    )
}

_SUFFIXES = re.compile(r"(-(instruct|chat|hf|base|v0\.\d|it))+$")


def canonical_model_name(name: str) -> str:
    """``meta-llama/Meta-Llama-3-70B-Instruct`` -> ``llama-3-70b``."""
    short = name.strip().rsplit("/", 1)[-1].lower().replace("_", "-")
    short = short.removeprefix("meta-")
    return _SUFFIXES.sub("", short)


def lookup_model(name: str) -> ModelSpec:
    """A known model by name or Hugging Face id; NotFoundError lists the known names."""
    spec = KNOWN_MODELS.get(canonical_model_name(name))
    if spec is None:
        raise NotFoundError(
            f"unknown model '{name}': give its architecture (a config.json, or the "
            f"architecture fields) or use one of {', '.join(KNOWN_MODELS)}",
            reason="MODEL_NOT_FOUND",
        )
    return spec


_FAMILIES = {"llama": "llama", "mistral": "llama", "mixtral": "llama", "qwen2": "qwen"}


def spec_from_hf_config(config: dict, name: str = "") -> ModelSpec:
    """A spec from the dict of a Hugging Face ``config.json`` (decoder-only models)."""
    try:
        heads = int(config["num_attention_heads"])
        spec = ModelSpec(
            name=name or config.get("_name_or_path") or config.get("model_type", "model"),
            num_layers=int(config["num_hidden_layers"]),
            hidden_size=int(config["hidden_size"]),
            num_attention_heads=heads,
            num_kv_heads=int(config.get("num_key_value_heads") or heads),
            intermediate_size=int(config["intermediate_size"]),
            vocab_size=int(config["vocab_size"]),
            max_position_embeddings=int(config.get("max_position_embeddings", 0)),
            head_dim=int(config.get("head_dim") or 0),
            tie_word_embeddings=bool(config.get("tie_word_embeddings", False)),
            num_experts=int(config.get("num_local_experts") or config.get("num_experts") or 0),
            qkv_bias=config.get("model_type") == "qwen2" or bool(config.get("attention_bias")),
            family=_FAMILIES.get(config.get("model_type", ""), "llama"),
        )
    except KeyError as exc:
        raise InvalidArgumentError(
            f"config.json lacks {exc.args[0]}; is it a decoder-only transformer's config?",
            reason="ARCHITECTURE",
        ) from None
    return spec


def load_model_spec(name_or_path: str) -> ModelSpec:
    """A known model name, a Hugging Face model folder, or a path to its ``config.json``."""
    path = Path(name_or_path)
    if path.is_dir():
        path = path / "config.json"
    if path.suffix == ".json" or path.exists():
        if not path.is_file():
            raise NotFoundError(f"no config.json at {path}", reason="MODEL_CONFIG_NOT_FOUND")
        try:
            config = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise InvalidArgumentError(f"{path} is not JSON: {exc}") from None
        return spec_from_hf_config(config, name=path.parent.name or path.stem)
    return lookup_model(name_or_path)


@dataclass(frozen=True)
class GpuType:
    name: str
    memory_gib: float  # total memory nvidia-smi reports, MiB / 1024
    fp8: bool  # FP8 tensor cores (Ada, Hopper and later)
    bf16: bool = True


# Memory as nvidia-smi reports it ("0MiB / 81559MiB" on an H100 80GB HBM3), not the
# marketing GB figure.
GPUS: dict[str, GpuType] = {
    g.name: g
    for g in (
        GpuType("H100-80GB", 81559 / 1024, fp8=True),
        GpuType("H200", 143771 / 1024, fp8=True),
        GpuType("A100-80GB", 81920 / 1024, fp8=False),
        GpuType("A100-40GB", 40960 / 1024, fp8=False),
        GpuType("L40S", 46068 / 1024, fp8=True),
        GpuType("L4", 23034 / 1024, fp8=True),
        GpuType("A10G", 23028 / 1024, fp8=False),
    )
}
_GPU_ALIASES = {
    "H100": "H100-80GB",
    "H100-SXM": "H100-80GB",
    "H100-SXM5-80GB": "H100-80GB",
    "H200-141GB": "H200",
    "A100": "A100-80GB",
    "A100-SXM4-80GB": "A100-80GB",
    "A100-SXM4-40GB": "A100-40GB",
    "L40S-48GB": "L40S",
    "L4-24GB": "L4",
    "A10G-24GB": "A10G",
}


def lookup_gpu(name: str) -> GpuType | None:
    key = name.strip().upper().replace(" ", "-").replace("_", "-")
    return GPUS.get(_GPU_ALIASES.get(key, key))
