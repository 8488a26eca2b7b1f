"""The groundedness scorer (guard-models/artifacts/groundedness.*) as a batched Triton model.

Contract: inputs `answer`, `context` (a JSON list of passage strings) and `question`, each
BYTES dims [1]; outputs `score` FP32 [1], the probability that the answer holds content
the passages do not support, and `sentences` BYTES [1], a JSON list of
{"start", "end", "score"} per answer sentence (code-point offsets into `answer`).
The features are computed by llmops_guard_models.groundedness, the module training used.

This module is the contract and the scoring of a batch; `groundedness_backend.py` is the
Triton Python-backend model that serves it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from batched_model import TensorSpec, config_pbtxt

GUARD_MODELS = Path(__file__).resolve().parents[3] / "guard-models"
DEFAULT_ARTIFACT = GUARD_MODELS / "artifacts" / "groundedness.npz"
MAX_BATCH_SIZE = 16

INPUTS = (
    TensorSpec("answer", "TYPE_STRING"),
    TensorSpec("context", "TYPE_STRING"),
    TensorSpec("question", "TYPE_STRING"),
)
OUTPUTS = (
    TensorSpec("score", "TYPE_FP32"),
    TensorSpec("sentences", "TYPE_STRING"),
)


def model_config_pbtxt(name: str, artifact: Path = DEFAULT_ARTIFACT) -> str:
    return config_pbtxt(name, INPUTS, OUTPUTS, MAX_BATCH_SIZE, {"artifact": str(artifact)})


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
    """The committed scorer, in and out as Triton tensors."""

    def __init__(self, artifact: Path = DEFAULT_ARTIFACT) -> None:
        if str(GUARD_MODELS) not in sys.path:
            sys.path.insert(0, str(GUARD_MODELS))
        from llmops_guard_models.groundedness import Scorer

        self._scorer = Scorer.load(artifact)

    def check(self, answer: str, passages: list[str], question: str) -> tuple[float, str]:
        score, detail = self._scorer.score(answer, passages, question)
        return score, json.dumps(detail)

    def score_batch(
        self, answer: np.ndarray, context: np.ndarray, question: np.ndarray
    ) -> dict[str, np.ndarray]:
        """Tensors with a leading batch dimension in, `score` and `sentences` out."""
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
