"""The LLM as a Triton Python-backend model, under the `ensemble` contract of ensemble_model.py.

serve.py writes a model repository whose `<name>/1/model.py` imports this class; the
config.pbtxt parameters say which GGUF file to load and how. It runs inside Triton's
Python-backend stub process, next to the server, as TensorRT-LLM's own Python models do.

Being a native backend model is what lets a caller's cancellation reach the generation:
Triton marks a request cancelled when its gRPC stream is cancelled or its deadline
passes, and the generation loop asks the response sender before every token.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import triton_python_backend_utils as pb_utils
from ensemble_model import EnsembleRequest, parse_request, response_tensors
from llama_engine import GenerationError, LlamaEngine

FINAL_FLAG = pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL


class ModelStopping(RuntimeError):
    """A generation cut short because the model is being unloaded."""


class StopFlag:
    """The engine's cancellation flag: Triton cancelled the request, or the server stops.

    Triton neither cancels decoupled requests when it shuts down nor unloads the model
    while they run, so serve.py creates `stop_file` before it stops Triton: answers in
    progress then end at their next token with an error the caller still receives, and
    the server exits instead of waiting for them.
    """

    def __init__(self, sender: Any, stop_file: Path) -> None:
        self._sender = sender
        self._stop_file = stop_file

    def is_set(self) -> bool:
        return bool(self._sender.is_cancelled()) or self._stop_file.exists()


class TritonPythonModel:
    """Decoupled: `execute` hands each request to the engine's worker and returns at once."""

    def initialize(self, args: dict[str, str]) -> None:
        params = model_parameters(args)
        self._stop_file = Path(params["stop_file"])
        self._engine = LlamaEngine(
            Path(params["gguf_path"]),
            n_ctx=int(params["n_ctx"]),
            n_threads=int(params["n_threads"]),
        )

    def execute(self, requests: list[Any]) -> None:
        for parsed, sender in accepted(requests):
            self._engine.worker.submit(self._generate, parsed, sender)

    def finalize(self) -> None:
        self._engine.close()

    def _generate(self, request: EnsembleRequest, sender: Any) -> None:
        """Runs on the engine's worker thread: one generation at a time, in arrival order."""
        if sender.is_cancelled():  # gone while it waited in the queue
            sender.send(flags=FINAL_FLAG)
            return
        stop = StopFlag(sender, self._stop_file)
        chunks = self._engine.stream(request.prompt, request.params, stop)
        last = None
        try:
            if request.stream:
                for last in chunks:
                    if last.text or last.finish_reason:
                        sender.send(inference_response(response_tensors(request, last.text, last)))
            else:
                parts = [] if request.exclude_input else [request.prompt]
                for last in chunks:
                    parts.append(last.text)
                if last is not None and last.finish_reason:
                    text = "".join(parts)
                    sender.send(inference_response(response_tensors(request, text, last)))
            end_answer(sender, complete=last is not None and last.finish_reason is not None)
        except Exception as exc:  # noqa: BLE001 - every failure ends the stream with its error
            send_error(sender, exc)


def model_parameters(args: dict[str, str]) -> dict[str, str]:
    """The `parameters` of the model's config.pbtxt (see serve.write_python_model)."""
    config = json.loads(args["model_config"])
    return {k: v["string_value"] for k, v in config.get("parameters", {}).items()}


def end_answer(sender: Any, *, complete: bool) -> None:
    """End the stream with the empty final response, as TensorRT-LLM's decoupled models
    do; an answer cut short by the server stopping ends with an error instead, so that it
    is never passed off as whole (a cancelled one has nobody left to tell)."""
    if complete or sender.is_cancelled():
        sender.send(flags=FINAL_FLAG)
    else:
        send_error(sender, ModelStopping("the model server is stopping; send the request again"))


def accepted(requests: list[Any]) -> Iterator[tuple[EnsembleRequest, Any]]:
    """Each request read into engine terms, with its response sender; a request that
    cannot be read is answered with its error here and left out."""
    for request in requests:
        sender = request.get_response_sender()
        try:
            yield parse_request({t.name(): t.as_numpy() for t in request.inputs()}), sender
        except GenerationError as exc:
            send_error(sender, exc)


def inference_response(tensors: dict[str, np.ndarray]) -> Any:
    return pb_utils.InferenceResponse(
        output_tensors=[pb_utils.Tensor(name, value) for name, value in tensors.items()]
    )


def send_error(sender: Any, exc: Exception) -> None:
    """End the request with an error response. A stream's error carries only a message,
    so a refusal names itself: clients read "GenerationError: <why>" as a bad request."""
    if isinstance(exc, GenerationError):
        error = pb_utils.TritonError(f"GenerationError: {exc}", pb_utils.TritonError.INVALID_ARG)
    elif isinstance(exc, ModelStopping):
        error = pb_utils.TritonError(f"ModelStopping: {exc}", pb_utils.TritonError.UNAVAILABLE)
    else:
        error = pb_utils.TritonError(f"{type(exc).__name__}: {exc}", pb_utils.TritonError.INTERNAL)
    sender.send(pb_utils.InferenceResponse(error=error), flags=FINAL_FLAG)
