"""The trained guard heads as one batched Triton model, `guard`.

Contract: input `text` BYTES dims [1]; outputs `embedding` FP32 [D] (unit-norm static
embedding), `num_input_tokens` INT32 [1], and one FP32 [1] probability per trained head
output (`injection`, `harm_<category>`...), with a leading batch dimension. Features are
computed once per text for every head (guard-models/llmops_guard_models), so adding a
head costs a matrix product, not another encoder pass.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from pytriton.decorators import batch
from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor

REPO = Path(__file__).resolve().parents[3]
GUARD_MODELS = REPO / "guard-models"
ARTIFACTS = GUARD_MODELS / "artifacts"
# Served when their files exist; `injection` must.
DEFAULT_ARTIFACTS = ("injection", "harm")

sys.path.insert(0, str(GUARD_MODELS))

from llmops_guard_models import EMBEDDING, NUM_TOKENS, GuardHeads  # noqa: E402


def default_artifacts() -> list[Path]:
    stems = [ARTIFACTS / name for name in DEFAULT_ARTIFACTS]
    return [s for s in stems if s.with_suffix(".npz").is_file() or s.name == "injection"]


def model_config(max_batch_size: int) -> ModelConfig:
    return ModelConfig(
        batching=True,
        max_batch_size=max_batch_size,
        batcher=DynamicBatcher(max_queue_delay_microseconds=500),
    )


class GuardModel:
    """The PyTriton inference callable over GuardHeads."""

    def __init__(self, artifacts: list[Path], encoder_dir: Path | None = None) -> None:
        self.heads = GuardHeads.load(artifacts, encoder_dir)

    @property
    def inputs(self) -> tuple[Tensor, ...]:
        return (Tensor(name="text", dtype=bytes, shape=(1,)),)

    @property
    def outputs(self) -> tuple[Tensor, ...]:
        return (
            Tensor(name=EMBEDDING, dtype=np.float32, shape=(self.heads.encoder.dimensions,)),
            Tensor(name=NUM_TOKENS, dtype=np.int32, shape=(1,)),
            *(Tensor(name=name, dtype=np.float32, shape=(1,)) for name in self.heads.outputs),
        )

    def analyze(self, texts: list[str]) -> dict[str, np.ndarray]:
        result = self.heads.analyze(texts)
        n = len(texts)
        out = {EMBEDDING: result[EMBEDDING].astype(np.float32)}
        out[NUM_TOKENS] = result[NUM_TOKENS].astype(np.int32).reshape(n, 1)
        for name in self.heads.outputs:
            out[name] = result[name].astype(np.float32).reshape(n, 1)
        return out

    @batch
    def __call__(self, text: np.ndarray) -> dict[str, np.ndarray]:
        # Invalid UTF-8 is replaced, not refused: a guard must still judge the rest.
        texts = [
            v.decode("utf-8", errors="replace") if isinstance(v, bytes) else str(v)
            for v in text.reshape(-1)
        ]
        return self.analyze(texts)
