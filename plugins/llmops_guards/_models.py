"""Client of the Triton model `guard`: the trained heads over one shared feature pass.

`guard` takes `text` and returns `embedding`, `num_input_tokens` and one probability per
trained head (`injection`, `harm_<category>`...). The head names are read from the
model's metadata, so a newly trained head reaches the checks without a code change.
Several texts go in one call when asked (the batch dimension is the number of texts).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from tritonclient.grpc import service_pb2

from llmops_core import GuardInput
from llmops_triton._endpoints import TritonEndpoints
from llmops_triton._tensors import infer_request, outputs_of

GUARD_MODEL = "guard"
INPUT_NAME = "text"
EMBEDDING = "embedding"
NUM_TOKENS = "num_input_tokens"


@dataclass(frozen=True)
class GuardAnalysis:
    """What `guard` says about one text."""

    embedding: tuple[float, ...]
    scores: dict[str, float]  # head name -> probability in [0, 1]
    num_tokens: int


class GuardModelClient:
    def __init__(self, endpoints: TritonEndpoints, model: str = GUARD_MODEL) -> None:
        self.endpoints = endpoints
        self.model = model
        self._heads: tuple[str, ...] | None = None

    @property
    def key(self) -> tuple[str, tuple[str, ...]]:
        """Identifies the model behind this client, for sharing work between checks."""
        return (self.model, tuple(self.endpoints.endpoints))

    async def heads(self) -> tuple[str, ...]:
        """The head outputs the served model has (cached after the first ask)."""
        if self._heads is None:
            metadata = await self.endpoints.unary(
                lambda stub, timeout: stub.ModelMetadata(
                    service_pb2.ModelMetadataRequest(name=self.model), timeout=timeout
                )
            )
            self._heads = tuple(
                o.name for o in metadata.outputs if o.name not in (EMBEDDING, NUM_TOKENS)
            )
        return self._heads

    async def analyze(self, text: str) -> GuardAnalysis:
        return (await self.analyze_many([text]))[0]

    async def analyze_many(self, texts: Sequence[str]) -> list[GuardAnalysis]:
        """One Triton call for all ``texts``; results in order."""
        if not texts:
            return []
        array = np.array([[t.encode("utf-8", errors="replace")] for t in texts], dtype=np.object_)
        request = infer_request(self.model, {INPUT_NAME: array})
        response = await self.endpoints.unary(
            lambda stub, timeout: stub.ModelInfer(request, timeout=timeout)
        )
        outputs = outputs_of(response)
        n = len(texts)
        vectors = outputs[EMBEDDING].reshape(n, -1)
        counts = outputs[NUM_TOKENS].reshape(n)
        heads = {
            name: array.reshape(n)
            for name, array in outputs.items()
            if name not in (EMBEDDING, NUM_TOKENS)
        }
        return [
            GuardAnalysis(
                embedding=tuple(vectors[i].tolist()),
                scores={name: float(values[i]) for name, values in heads.items()},
                num_tokens=int(counts[i]),
            )
            for i in range(n)
        ]


async def shared_analyses(
    item: GuardInput, client: GuardModelClient, spans: Sequence[tuple[int, int]]
) -> list[GuardAnalysis]:
    """`guard`'s analyses of these windows of ``item.text``, asked once per request: checks
    that cut a text the same way (harm and banned-topics do by default) share one call."""
    texts = tuple(item.text[start:end] for start, end in spans)
    return await item.shared.once(
        ("guard-windows", client.key, texts), lambda: client.analyze_many(texts)
    )
