"""Request and response plumbing of the batched Python-backend models (`guard_backend`,
`groundedness_backend`): runs inside Triton's Python-backend stub.

Each request of a batch gets its own response; a request that fails gets an error
response of its own and the others of the batch are still answered.
"""

from __future__ import annotations

import locale
from collections.abc import Callable
from typing import Any

import numpy as np
import triton_python_backend_utils as pb_utils

Tensors = dict[str, np.ndarray]

# The stub's embedded interpreter starts in the C locale whatever the environment says,
# so text files opened without an encoding (the encoder's tokenizer and metadata) would be
# read as ASCII; UTF-8 as everywhere else in the project.
locale.setlocale(locale.LC_CTYPE, "C.UTF-8")


def inputs_of(request: Any) -> Tensors:
    """The request's input tensors by name, with their batch dimension."""
    return {tensor.name(): tensor.as_numpy() for tensor in request.inputs()}


def response(tensors: Tensors) -> Any:
    return pb_utils.InferenceResponse(
        output_tensors=[pb_utils.Tensor(name, value) for name, value in tensors.items()]
    )


def error_response(exc: Exception) -> Any:
    """A request Triton accepted but the model refuses (bad content) is INVALID_ARG; any
    other failure is INTERNAL. The message names the exception, as the LLM's do."""
    code = (
        pb_utils.TritonError.INVALID_ARG
        if isinstance(exc, ValueError)
        else pb_utils.TritonError.INTERNAL
    )
    return pb_utils.InferenceResponse(
        error=pb_utils.TritonError(f"{type(exc).__name__}: {exc}", code)
    )


def answer_each(requests: list[Any], infer: Callable[[Tensors], Tensors]) -> list[Any]:
    """One response per request, in order: `infer` on each request alone."""
    responses = []
    for request in requests:
        try:
            responses.append(response(infer(inputs_of(request))))
        except Exception as exc:  # noqa: BLE001 - one bad request must not fail its batch
            responses.append(error_response(exc))
    return responses
