"""Embedder plugin ``triton``: sentence embeddings from a model served by Triton.

Texts go in batches of ``batch_size``; Triton's dynamic batcher may merge batches
from concurrent callers further.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from tritonclient.grpc import service_pb2

from llmops_core import Embeddings, Health, PluginContext
from llmops_triton._endpoints import TritonEndpoints
from llmops_triton._tensors import infer_request, outputs_of

INPUT_NAME = "text"
OUTPUT_NAME = "embedding"
TOKENS_NAME = "num_input_tokens"


class TritonEmbedderConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    endpoints: list[str] | None = None  # default: triton.endpoints
    model: str | None = None  # default: triton.embedding_model
    batch_size: int = Field(default=32, ge=1, le=1024)


class TritonEmbedder:
    name: ClassVar[str] = "triton"
    Config: ClassVar[type[BaseModel]] = TritonEmbedderConfig

    def __init__(self, config: TritonEmbedderConfig, context: PluginContext) -> None:
        self.model = config.model or context.settings.triton.embedding_model
        self.batch_size = config.batch_size
        self.endpoints = TritonEndpoints(config.endpoints or context.settings.triton.endpoints)
        self._dimension: int | None = None

    async def health(self) -> Health:
        try:
            ready = await self.endpoints.unary(
                lambda stub, timeout: stub.ModelReady(
                    service_pb2.ModelReadyRequest(name=self.model), timeout=min(timeout, 2.0)
                )
            )
        except Exception as exc:  # noqa: BLE001
            return Health(False, str(exc))
        return Health(ready.ready, f"embedding model {self.model}")

    async def close(self) -> None:
        await self.endpoints.close()

    async def dimension(self) -> int:
        if self._dimension is None:
            self._dimension = len((await self.embed(["dimension probe"]))[0])
        return self._dimension

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            vectors.extend((await embed_texts(self.endpoints, self.model, batch)).vectors)
        return vectors


async def embed_texts(endpoints: TritonEndpoints, model: str, texts: Sequence[str]) -> Embeddings:
    """One Triton call embedding ``texts`` (the batch dimension is the number of texts).

    Tokens are counted when the model returns ``num_input_tokens`` (one per text), as the
    local server's MiniLM does; other embedding models leave the count unknown.
    """
    if not texts:
        return Embeddings([], 0)
    array = np.array([[t.encode()] for t in texts], dtype=np.object_)
    request = infer_request(model, {INPUT_NAME: array})
    response = await endpoints.unary(
        lambda stub, timeout: stub.ModelInfer(request, timeout=timeout)
    )
    outputs = outputs_of(response)
    vectors = outputs[OUTPUT_NAME].reshape(len(texts), -1).astype(np.float32).tolist()
    counts = outputs.get(TOKENS_NAME)
    return Embeddings(vectors, None if counts is None else int(counts.sum()))
