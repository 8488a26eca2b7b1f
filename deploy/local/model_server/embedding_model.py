"""all-MiniLM-L6-v2 sentence embeddings as a batched Triton model.

Contract: input `text` BYTES dims [1] and output `embedding` FP32 dims [384], with a
leading batch dimension: N texts go in as an [N, 1] tensor and come back as [N, 384]
unit vectors (cosine similarity is a dot product). Triton's dynamic batcher merges
requests that queue while the model is busy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pytriton.decorators import batch
from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor

DIMENSIONS = 384

INPUTS = (Tensor(name="text", dtype=bytes, shape=(1,)),)
OUTPUTS = (
    Tensor(name="embedding", dtype=np.float32, shape=(DIMENSIONS,)),
    # Tokens the model read for each text (after truncation), for usage reporting.
    Tensor(name="num_input_tokens", dtype=np.int32, shape=(1,)),
)


def model_config(max_batch_size: int) -> ModelConfig:
    # A short queue delay lets concurrent small requests share one forward pass.
    return ModelConfig(
        batching=True,
        max_batch_size=max_batch_size,
        batcher=DynamicBatcher(max_queue_delay_microseconds=2_000),
    )


class EmbeddingModel:
    """The PyTriton inference callable over a SentenceTransformer folder."""

    def __init__(self, model_dir: Path) -> None:
        # Imported here: torch takes seconds to import and only this model needs it.
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(str(model_dir), device="cpu")
        dims = self._model.get_embedding_dimension()
        if dims != DIMENSIONS:
            raise ValueError(f"{model_dir} embeds into {dims} dimensions, expected {DIMENSIONS}")

    def embed(self, texts: list[str]) -> np.ndarray:
        vectors = self._model.encode(
            texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), DIMENSIONS)

    def count_tokens(self, texts: list[str]) -> np.ndarray:
        """Tokens per text as the model reads them (special tokens in, truncated)."""
        mask = self._model.tokenize(texts)["attention_mask"]
        return np.asarray(mask.sum(dim=1), dtype=np.int32).reshape(len(texts), 1)

    @batch
    def __call__(self, text: np.ndarray) -> dict[str, np.ndarray]:
        texts = [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in text.reshape(-1)]
        return {"embedding": self.embed(texts), "num_input_tokens": self.count_tokens(texts)}
