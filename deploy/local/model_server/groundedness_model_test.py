"""The `groundedness` model on the real local Triton: scores, and errors per request."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest
import tritonclient.grpc.aio as aioclient
from tritonclient.utils import InferenceServerException

PASSAGES = json.dumps(["Paris is the capital of France.", "It has about two million people."])
SUPPORTED = "Paris is the capital of France."
INVENTED = "Paris is the capital of Spain and has forty million people."


def _inputs(answer: str, context: str, question: str = "") -> list[aioclient.InferInput]:
    tensors = []
    for name, text in (("answer", answer), ("context", context), ("question", question)):
        tensor = aioclient.InferInput(name, [1, 1], "BYTES")
        tensor.set_data_from_numpy(np.array([[text.encode()]], dtype=np.object_))
        tensors.append(tensor)
    return tensors


async def test_a_bad_request_fails_alone_in_its_batch(triton_url):
    client = aioclient.InferenceServerClient(triton_url)

    async def score(answer: str, context: str) -> float | InferenceServerException:
        try:
            reply = await client.infer("groundedness", _inputs(answer, context))
        except InferenceServerException as exc:
            return exc
        return float(reply.as_numpy("score").item())

    requests = [(SUPPORTED, PASSAGES), (INVENTED, PASSAGES), (SUPPORTED, "{not json")] * 5
    before = (await client.get_inference_statistics("groundedness")).model_stats[0]
    try:
        alone = {answer: await score(answer, PASSAGES) for answer in (SUPPORTED, INVENTED)}
        replies = await asyncio.gather(*(score(a, c) for a, c in requests))
        after = (await client.get_inference_statistics("groundedness")).model_stats[0]
    finally:
        await client.close()
    assert alone[SUPPORTED] < 0.5 < alone[INVENTED]
    for (answer, context), reply in zip(requests, replies, strict=True):
        if context == PASSAGES:
            assert reply == pytest.approx(alone[answer], abs=1e-6)
        else:
            assert isinstance(reply, InferenceServerException)
            assert reply.status() == "StatusCode.INVALID_ARGUMENT"
            assert "JSONDecodeError" in reply.message()
    # Some requests shared an execution: errors were answered per request, not per batch.
    executions = after.execution_count - before.execution_count
    assert executions < len(requests) + len(alone)
