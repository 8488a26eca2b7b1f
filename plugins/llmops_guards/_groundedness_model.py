"""Client of the Triton model `groundedness` (the local model server's support scorer).

One call per answer: the answer, its passages as a JSON list and the question go in; the
answer's probability of unsupported content and every sentence's own come back.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from tritonclient.grpc import service_pb2

from llmops_triton._endpoints import TritonEndpoints
from llmops_triton._tensors import infer_request, outputs_of

MODEL_NAME = "groundedness"


@dataclass(frozen=True)
class SentenceSupport:
    start: int  # code-point offsets into the answer
    end: int
    score: float  # probability that the sentence is not supported


@dataclass(frozen=True)
class Support:
    score: float  # probability that the answer holds unsupported content
    sentences: tuple[SentenceSupport, ...]


class GroundednessClient:
    def __init__(self, endpoints: Sequence[str], model: str = MODEL_NAME) -> None:
        self.model = model
        self.endpoints = TritonEndpoints(list(endpoints))

    async def support(self, answer: str, passages: Sequence[str], question: str) -> Support:
        inputs = {
            "answer": _tensor(answer),
            "context": _tensor(json.dumps(list(passages))),
            "question": _tensor(question),
        }
        request = infer_request(self.model, inputs)
        response = await self.endpoints.unary(
            lambda stub, timeout: stub.ModelInfer(request, timeout=timeout)
        )
        outputs = outputs_of(response)
        detail = json.loads(outputs["sentences"].reshape(-1)[0])
        return Support(
            float(outputs["score"].reshape(-1)[0]),
            tuple(
                SentenceSupport(int(d["start"]), int(d["end"]), float(d["score"])) for d in detail
            ),
        )

    async def ready(self) -> bool:
        reply = await self.endpoints.unary(
            lambda stub, timeout: stub.ModelReady(
                service_pb2.ModelReadyRequest(name=self.model), timeout=min(timeout, 2.0)
            )
        )
        return bool(reply.ready)

    async def close(self) -> None:
        await self.endpoints.close()


def _tensor(text: str) -> np.ndarray:
    # A lone surrogate becomes "?": one code point for one, so offsets still match.
    return np.array([[text.encode("utf-8", "replace")]], dtype=np.object_)
