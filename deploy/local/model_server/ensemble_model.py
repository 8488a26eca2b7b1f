"""The LLM under TensorRT-LLM's `ensemble` contract, so a real TensorRT-LLM Triton can replace it.

Tensor names, dtypes and shapes follow
`triton_backend/all_models/inflight_batcher_llm/ensemble/config.pbtxt` (TensorRT-LLM):
`max_batch_size` > 0, so every tensor carries a leading batch dimension and a request
for one prompt sends `text_input` as a [1, 1] BYTES tensor. The model is decoupled:
clients use the gRPC streaming API whether or not they ask for `stream`.

Inputs of that contract that need a GPU engine (prompt tables, LoRA, logits,
guided decoding) are not declared; a request that sends one is refused by Triton.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import AsyncIterator, Mapping
from typing import Any

import numpy as np
from llama_engine import Chunk, GenerationError, LlamaEngine, SamplingParams
from pytriton.model_config import ModelConfig, Tensor


def _opt(name: str, dtype: Any, shape: tuple[int, ...] = (1,)) -> Tensor:
    return Tensor(name=name, dtype=dtype, shape=shape, optional=True)


INPUTS = (
    Tensor(name="text_input", dtype=bytes, shape=(1,)),
    Tensor(name="max_tokens", dtype=np.int32, shape=(1,)),
    _opt("bad_words", bytes, (-1,)),
    _opt("stop_words", bytes, (-1,)),
    _opt("exclude_input_in_output", np.bool_),
    _opt("end_id", np.int32),
    _opt("pad_id", np.int32),  # accepted for compatibility: one sequence needs no padding
    _opt("top_k", np.int32),
    _opt("top_p", np.float32),
    _opt("temperature", np.float32),
    _opt("length_penalty", np.float32),  # accepted for compatibility: beam search only
    _opt("repetition_penalty", np.float32),
    _opt("min_tokens", np.int32),
    _opt("presence_penalty", np.float32),
    _opt("frequency_penalty", np.float32),
    _opt("seed", np.uint64),
    _opt("random_seed", np.uint64),  # the name TensorRT-LLM releases before 0.16 use
    _opt("return_num_input_tokens", np.bool_),
    _opt("return_num_output_tokens", np.bool_),
    _opt("beam_width", np.int32),
    _opt("stream", np.bool_),
)

OUTPUTS = (
    Tensor(name="text_output", dtype=bytes, shape=(-1,)),
    Tensor(name="num_input_tokens", dtype=np.int32, shape=(1,)),
    Tensor(name="num_output_tokens", dtype=np.int32, shape=(1,)),
)

# One request per call: a decoupled callable answers a whole batch per response,
# and one prompt per batch keeps each stream independent.
CONFIG = ModelConfig(batching=True, max_batch_size=1, decoupled=True)


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


class EnsembleModel:
    """The PyTriton inference callable: an async generator of one response per chunk.

    It is async so that PyTriton's event loop stays free while a generation runs on
    the engine's worker thread; concurrent requests wait in that worker's queue.
    """

    def __init__(self, engine: LlamaEngine) -> None:
        self._engine = engine

    async def __call__(self, requests: list[Any]) -> AsyncIterator[list[dict[str, np.ndarray]]]:
        if len(requests) != 1:
            raise GenerationError(f"expected one request per call, got {len(requests)}")
        request = parse_request(requests[0].data)
        if request.stream:
            async for chunk in self._chunks(request):
                if chunk.text or chunk.finish_reason:
                    yield [_response(request, chunk.text, chunk)]
            return
        parts = [] if request.exclude_input else [request.prompt]
        last = None
        async for chunk in self._chunks(request):
            parts.append(chunk.text)
            last = chunk
        if last is not None:
            yield [_response(request, "".join(parts), last)]

    async def _chunks(self, request: EnsembleRequest) -> AsyncIterator[Chunk]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Chunk | BaseException | None] = asyncio.Queue()
        cancelled = threading.Event()

        def run() -> None:
            try:
                for chunk in self._engine.stream(request.prompt, request.params, cancelled):
                    loop.call_soon_threadsafe(queue.put_nowait, chunk)
            except BaseException as exc:  # noqa: BLE001 - handed to the request's response
                loop.call_soon_threadsafe(queue.put_nowait, exc)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, None)

        self._engine.worker.submit(run)
        try:
            while True:
                # Merge what queued up while the last response was being sent: when the
                # server is busy, fewer and larger chunks beat a growing backlog.
                items = [await queue.get()]
                while not queue.empty():
                    items.append(queue.get_nowait())
                chunks = [i for i in items if isinstance(i, Chunk)]
                if chunks:
                    yield _merge(chunks)
                for item in items:
                    if isinstance(item, BaseException):
                        raise item
                if items[-1] is None:
                    return
        finally:
            # The caller went away (error, shutdown): free the worker for the next request.
            cancelled.set()


def _merge(chunks: list[Chunk]) -> Chunk:
    last = chunks[-1]
    if len(chunks) == 1:
        return last
    return dataclasses.replace(last, text="".join(c.text for c in chunks))


def _response(request: EnsembleRequest, text: str, chunk: Chunk) -> dict[str, np.ndarray]:
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
