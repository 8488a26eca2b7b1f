"""How sampling parameters become input tensors, per Triton deployment flavour.

- ``ensemble`` / ``tensorrt_llm_bls``: TensorRT-LLM backend's model repository
  (all_models/inflight_batcher_llm), batch dimension first.
- ``llmapi``: the TensorRT-LLM LLM-API backend (``sampling_param_*`` inputs).
The local CPU model server speaks the ``ensemble`` names, so either can replace it.
"""

from __future__ import annotations

import numpy as np

from llmops_core import Sampling

FLAVOURS = ("ensemble", "tensorrt_llm_bls", "llmapi")
_UINT64 = 2**64


def unsupported(flavour: str, sampling: Sampling) -> list[str]:
    """Fields of ``sampling`` that the flavour's model has no input for."""
    if flavour != "llmapi":
        return []
    # The LLM-API backend's inputs (sampling_param_*) take no repetition penalty, bad
    # words or beam width.
    fields = {
        "repetition_penalty": sampling.repetition_penalty != 1.0,
        "bad_words": bool(sampling.bad_words),
        "beam_width": sampling.beam_width > 1,
    }
    return [f"sampling.{name}" for name, used in fields.items() if used]


def generation_inputs(flavour: str, prompt: str, sampling: Sampling, *, stream: bool) -> dict:
    if flavour == "llmapi":
        return _llmapi_inputs(prompt, sampling, stream=stream)
    return _ensemble_inputs(prompt, sampling, stream=stream)


def _column(value, dtype) -> np.ndarray:
    return np.array([[value]], dtype=dtype)


def _words(words: tuple[str, ...]) -> np.ndarray:
    return np.array([[w.encode() for w in words]], dtype=np.object_)


def _ensemble_inputs(prompt: str, s: Sampling, *, stream: bool) -> dict:
    inputs = {
        "text_input": _column(prompt.encode(), np.object_),
        "max_tokens": _column(s.max_tokens, np.int32),
        "temperature": _column(s.temperature, np.float32),
        "top_p": _column(s.top_p, np.float32),
        "top_k": _column(s.top_k, np.int32),
        "repetition_penalty": _column(s.repetition_penalty, np.float32),
        "presence_penalty": _column(s.presence_penalty, np.float32),
        "frequency_penalty": _column(s.frequency_penalty, np.float32),
        "beam_width": _column(s.beam_width, np.int32),
        "stream": _column(stream, np.bool_),
        # Without these, TensorRT-LLM echoes the prompt and reports no token counts.
        "exclude_input_in_output": _column(True, np.bool_),
        "return_num_input_tokens": _column(True, np.bool_),
        "return_num_output_tokens": _column(True, np.bool_),
    }
    if s.seed is not None:
        # The API's seed is an int64, TensorRT-LLM's a uint64: same bits.
        # "seed" since TensorRT-LLM 0.16; earlier ensembles called it "random_seed".
        inputs["seed"] = _column(s.seed % _UINT64, np.uint64)
    if s.stop:
        inputs["stop_words"] = _words(s.stop)
    if s.bad_words:
        inputs["bad_words"] = _words(s.bad_words)
    return inputs


def _llmapi_inputs(prompt: str, s: Sampling, *, stream: bool) -> dict:
    inputs = {
        "text_input": _column(prompt.encode(), np.object_),
        "sampling_param_max_tokens": _column(s.max_tokens, np.int32),
        "sampling_param_temperature": _column(s.temperature, np.float32),
        "sampling_param_top_p": _column(s.top_p, np.float32),
        "sampling_param_top_k": _column(s.top_k, np.int32),
        "sampling_param_presence_penalty": _column(s.presence_penalty, np.float32),
        "sampling_param_frequency_penalty": _column(s.frequency_penalty, np.float32),
        "sampling_param_exclude_input_from_output": _column(True, np.bool_),
        "streaming": _column(stream, np.bool_),
    }
    if s.seed is not None:
        inputs["sampling_param_seed"] = _column(s.seed % _UINT64, np.uint64)
    if s.stop:
        inputs["sampling_param_stop"] = _words(s.stop)
    return inputs
