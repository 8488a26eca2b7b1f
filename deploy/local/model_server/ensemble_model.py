"""The LLM under TensorRT-LLM's `ensemble` contract, so a real TensorRT-LLM Triton can replace it.

Tensor names, dtypes and shapes follow
`triton_backend/all_models/inflight_batcher_llm/ensemble/config.pbtxt` (TensorRT-LLM):
`max_batch_size` > 0, so every tensor carries a leading batch dimension and a request
for one prompt sends `text_input` as a [1, 1] BYTES tensor. The model is decoupled:
clients use the gRPC streaming API whether or not they ask for `stream`.

This module is the contract: the tensors, the model's config.pbtxt and the reading of a
request into engine terms. `ensemble_backend.py` is the Triton Python-backend model that
serves it (a native backend model, as TensorRT-LLM's own pre/post-processing and BLS
models are, so that Triton's request cancellation reaches the generation loop).

Inputs of that contract that need a GPU engine (prompt tables, LoRA, logits,
guided decoding) are not declared; a request that sends one is refused by Triton.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
from llama_engine import Chunk, GenerationError, SamplingParams


@dataclasses.dataclass(frozen=True)
class TensorSpec:
    name: str
    data_type: str  # config.pbtxt TYPE_* name
    dims: tuple[int, ...] = (1,)
    optional: bool = False


def _opt(name: str, data_type: str, dims: tuple[int, ...] = (1,)) -> TensorSpec:
    return TensorSpec(name, data_type, dims, optional=True)


INPUTS = (
    TensorSpec("text_input", "TYPE_STRING"),
    TensorSpec("max_tokens", "TYPE_INT32"),
    _opt("bad_words", "TYPE_STRING", (-1,)),
    _opt("stop_words", "TYPE_STRING", (-1,)),
    _opt("exclude_input_in_output", "TYPE_BOOL"),
    _opt("end_id", "TYPE_INT32"),
    _opt("pad_id", "TYPE_INT32"),  # accepted for compatibility: one sequence needs no padding
    _opt("top_k", "TYPE_INT32"),
    _opt("top_p", "TYPE_FP32"),
    _opt("temperature", "TYPE_FP32"),
    _opt("length_penalty", "TYPE_FP32"),  # accepted for compatibility: beam search only
    _opt("repetition_penalty", "TYPE_FP32"),
    _opt("min_tokens", "TYPE_INT32"),
    _opt("presence_penalty", "TYPE_FP32"),
    _opt("frequency_penalty", "TYPE_FP32"),
    _opt("seed", "TYPE_UINT64"),
    _opt("random_seed", "TYPE_UINT64"),  # the name TensorRT-LLM releases before 0.16 use
    _opt("return_num_input_tokens", "TYPE_BOOL"),
    _opt("return_num_output_tokens", "TYPE_BOOL"),
    _opt("beam_width", "TYPE_INT32"),
    _opt("stream", "TYPE_BOOL"),
)

OUTPUTS = (
    TensorSpec("text_output", "TYPE_STRING", (-1,)),
    TensorSpec("num_input_tokens", "TYPE_INT32"),
    TensorSpec("num_output_tokens", "TYPE_INT32"),
)


def config_pbtxt(name: str, parameters: Mapping[str, str]) -> str:
    """The model's config.pbtxt: decoupled, one request per execute, one CPU instance.

    max_batch_size 1 keeps the batch dimension of the TensorRT-LLM contract while each
    execute call carries one prompt; generations queue on the engine's worker thread.
    """

    def tensor(spec: TensorSpec) -> str:
        optional = " optional: true" if spec.optional else ""
        dims = ", ".join(str(d) for d in spec.dims)
        return f'  {{ name: "{spec.name}" data_type: {spec.data_type} dims: [ {dims} ]{optional} }}'

    params = "\n".join(
        f'parameters {{ key: "{key}" value: {{ string_value: "{value}" }} }}'
        for key, value in parameters.items()
    )
    return (
        f'name: "{name}"\nbackend: "python"\nmax_batch_size: 1\n'
        "model_transaction_policy { decoupled: true }\n"
        "instance_group [ { count: 1 kind: KIND_CPU } ]\n"
        "input [\n" + ",\n".join(tensor(s) for s in INPUTS) + "\n]\n"
        "output [\n" + ",\n".join(tensor(s) for s in OUTPUTS) + "\n]\n" + params + "\n"
    )


@dataclasses.dataclass(frozen=True)
class EnsembleRequest:
    prompt: str
    params: SamplingParams
    stream: bool
    exclude_input: bool
    return_input_tokens: bool
    return_output_tokens: bool


def parse_request(request: Mapping[str, np.ndarray]) -> EnsembleRequest:
    """Read one Triton request (tensors with their batch dimension) into engine terms."""
    if np.asarray(request["text_input"]).shape[0] != 1:
        raise GenerationError("send one prompt per request (batch size 1)")
    beam_width = _scalar(request, "beam_width", 1)
    if beam_width != 1:
        raise GenerationError(f"beam_width={beam_width}: only 1 (no beam search) is served here")
    max_tokens = _scalar(request, "max_tokens", 0)
    if max_tokens < 1:
        raise GenerationError(f"max_tokens must be at least 1, got {max_tokens}")
    seed = request.get("seed", request.get("random_seed"))
    params = SamplingParams(
        max_tokens=max_tokens,
        temperature=float(_scalar(request, "temperature", 1.0)),
        top_k=int(_scalar(request, "top_k", 0)),
        top_p=float(_scalar(request, "top_p", 0.0)),
        repetition_penalty=float(_scalar(request, "repetition_penalty", 1.0)),
        presence_penalty=float(_scalar(request, "presence_penalty", 0.0)),
        frequency_penalty=float(_scalar(request, "frequency_penalty", 0.0)),
        min_tokens=int(_scalar(request, "min_tokens", 0)),
        seed=None if seed is None else int(np.asarray(seed).reshape(-1)[0]),
        stop_words=_words(request, "stop_words"),
        bad_words=_words(request, "bad_words"),
        end_id=int(request["end_id"].reshape(-1)[0]) if "end_id" in request else None,
    )
    return EnsembleRequest(
        prompt=_text(np.asarray(request["text_input"]).reshape(-1)[0]),
        params=params,
        stream=bool(_scalar(request, "stream", False)),
        # TensorRT-LLM echoes the prompt unless told not to; the completion alone is
        # what every caller here wants, so that is the default.
        exclude_input=bool(_scalar(request, "exclude_input_in_output", True)),
        return_input_tokens=bool(_scalar(request, "return_num_input_tokens", False)),
        return_output_tokens=bool(_scalar(request, "return_num_output_tokens", False)),
    )


def response_tensors(request: EnsembleRequest, text: str, chunk: Chunk) -> dict[str, np.ndarray]:
    """The output tensors of one response (with their batch dimension)."""
    out = {"text_output": np.array([[text.encode("utf-8")]], dtype=np.object_)}
    if request.return_input_tokens:
        out["num_input_tokens"] = np.array([[chunk.num_input_tokens]], dtype=np.int32)
    if request.return_output_tokens:
        out["num_output_tokens"] = np.array([[chunk.num_output_tokens]], dtype=np.int32)
    return out


def _scalar(request: Mapping[str, np.ndarray], name: str, default: Any) -> Any:
    if name not in request:
        return default
    return np.asarray(request[name]).reshape(-1)[0].item()


def _words(request: Mapping[str, np.ndarray], name: str) -> tuple[str, ...]:
    if name not in request:
        return ()
    return tuple(w for w in (_text(v) for v in np.asarray(request[name]).reshape(-1)) if w)


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)
