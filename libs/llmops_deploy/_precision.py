"""Numeric precisions of weights and KV cache, and what each costs in bytes."""

from __future__ import annotations

from enum import StrEnum


class Precision(StrEnum):
    """Mirrors ``llmops.v1.Precision`` (the proto name without its ``PRECISION_`` prefix)."""

    UNSPECIFIED = "UNSPECIFIED"
    FP32 = "FP32"
    FP16 = "FP16"
    BF16 = "BF16"
    FP8 = "FP8"
    INT8 = "INT8"
    INT4 = "INT4"

    @classmethod
    def parse(cls, value: object) -> Precision:
        """Accept ``fp16``, ``float16``, ``half``, ``PRECISION_FP16``, ``bfloat16``... any case."""
        if isinstance(value, Precision):
            return value
        text = str(value).strip().upper().removeprefix("PRECISION_")
        name = _ALIASES.get(text, text)
        try:
            return cls(name)
        except ValueError:
            known = ", ".join(p.value.lower() for p in cls if p is not cls.UNSPECIFIED)
            raise ValueError(f"unknown precision '{value}'; use one of {known}") from None

    @property
    def weight_bytes(self) -> float:
        """Bytes per weight of the quantized layers (INT4 packs two weights per byte)."""
        return _WEIGHT_BYTES[self]

    @property
    def is_quantized(self) -> bool:
        return self in (Precision.FP8, Precision.INT8, Precision.INT4)

    @property
    def torch_name(self) -> str:
        """The dtype name TensorRT-LLM's scripts take (``--dtype float16``)."""
        return _TORCH_NAMES[self]


_ALIASES = {
    "FLOAT32": "FP32",
    "FLOAT": "FP32",
    "FLOAT16": "FP16",
    "HALF": "FP16",
    "BFLOAT16": "BF16",
    "FLOAT8": "FP8",
    "E4M3": "FP8",
    "": "UNSPECIFIED",
}
_WEIGHT_BYTES = {
    Precision.UNSPECIFIED: 2.0,
    Precision.FP32: 4.0,
    Precision.FP16: 2.0,
    Precision.BF16: 2.0,
    Precision.FP8: 1.0,
    Precision.INT8: 1.0,
    Precision.INT4: 0.5,
}
_TORCH_NAMES = {
    Precision.FP32: "float32",
    Precision.FP16: "float16",
    Precision.BF16: "bfloat16",
}


def activation_precision(weights: Precision) -> Precision:
    """Precision of activations, embeddings and lm_head: quantized weights keep FP16 there."""
    return weights if weights in (Precision.FP32, Precision.BF16) else Precision.FP16


def default_kv_precision(weights: Precision) -> Precision:
    """KV cache "as the weights" (proto default); integer weights still compute in FP16."""
    if weights in (Precision.INT8, Precision.INT4, Precision.UNSPECIFIED):
        return Precision.FP16
    return weights


def kv_bytes(kv: Precision) -> int:
    """Bytes per KV-cache element; INT4 KV caches do not exist in TensorRT-LLM."""
    return {Precision.FP32: 4, Precision.FP16: 2, Precision.BF16: 2}.get(kv, 1)
