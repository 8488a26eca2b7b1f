"""The groundedness scorer (guard-models/artifacts/groundedness.*) as a batched Triton model.

Contract: inputs `answer`, `context` (a JSON list of passage strings) and `question`, each
BYTES dims [1]; outputs `score` FP32 [1], the probability that the answer holds content
the passages do not support, and `sentences` BYTES [1], a JSON list of
{"start", "end", "score"} per answer sentence (code-point offsets into `answer`).
The features are computed by llmops_guard_models.groundedness, the module training used.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from pytriton.decorators import batch
from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor

GUARD_MODELS = Path(__file__).resolve().parents[3] / "guard-models"
DEFAULT_ARTIFACT = GUARD_MODELS / "artifacts" / "groundedness.npz"

INPUTS = (
    Tensor(name="answer", dtype=bytes, shape=(1,)),
    Tensor(name="context", dtype=bytes, shape=(1,)),
    Tensor(name="question", dtype=bytes, shape=(1,)),
)
OUTPUTS = (
    Tensor(name="score", dtype=np.float32, shape=(1,)),
    Tensor(name="sentences", dtype=bytes, shape=(1,)),
)


def model_config(max_batch_size: int = 16) -> ModelConfig:
    return ModelConfig(
        batching=True,
        max_batch_size=max_batch_size,
        batcher=DynamicBatcher(max_queue_delay_microseconds=500),
    )


def _text(value: object) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


def _passages(raw: str) -> list[str]:
    if not raw.strip():
        return []
    parsed = json.loads(raw)
    if not isinstance(parsed, list) or not all(isinstance(p, str) for p in parsed):
        raise ValueError("context must be a JSON list of strings")
    return parsed


class GroundednessModel:
    """The PyTriton inference callable over the committed scorer."""

    def __init__(self, artifact: Path = DEFAULT_ARTIFACT) -> None:
        if str(GUARD_MODELS) not in sys.path:
            sys.path.insert(0, str(GUARD_MODELS))
        from llmops_guard_models.groundedness import Scorer

        self._scorer = Scorer.load(artifact)

    def check(self, answer: str, passages: list[str], question: str) -> tuple[float, str]:
        score, detail = self._scorer.score(answer, passages, question)
        return score, json.dumps(detail)

    @batch
    def __call__(
        self, answer: np.ndarray, context: np.ndarray, question: np.ndarray
    ) -> dict[str, np.ndarray]:
        scores, details = [], []
        for a, c, q in zip(
            answer.reshape(-1), context.reshape(-1), question.reshape(-1), strict=True
        ):
            score, detail = self.check(_text(a), _passages(_text(c)), _text(q))
            scores.append(score)
            details.append(detail.encode())
        return {
            "score": np.asarray(scores, dtype=np.float32).reshape(-1, 1),
            "sentences": np.asarray(details, dtype=np.object_).reshape(-1, 1),
        }
