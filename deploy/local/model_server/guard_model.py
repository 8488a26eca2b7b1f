"""The trained guard heads as one batched Triton model, `guard`.

Contract: input `text` BYTES dims [1]; outputs `embedding` FP32 [D] (unit-norm static
embedding), `num_input_tokens` INT32 [1], and one FP32 [1] probability per trained head
output (`injection`, `harm_<category>`...), with a leading batch dimension. Features are
computed once per text for every head (guard-models/llmops_guard_models), so adding a
head costs a matrix product, not another encoder pass.

This module is the contract and the scoring of a batch of texts; `guard_backend.py` is
the Triton Python-backend model that serves it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from batched_model import TensorSpec, config_pbtxt

REPO = Path(__file__).resolve().parents[3]
GUARD_MODELS = REPO / "guard-models"
ARTIFACTS = GUARD_MODELS / "artifacts"
# Served when their files exist; `injection` must.
DEFAULT_ARTIFACTS = ("injection", "harm")

if str(GUARD_MODELS) not in sys.path:
    sys.path.insert(0, str(GUARD_MODELS))

from llmops_guard_models import (  # noqa: E402
    EMBEDDING,
    NUM_TOKENS,
    GuardHeads,
    default_encoder_dir,
)

INPUTS = (TensorSpec("text", "TYPE_STRING"),)


def default_artifacts() -> list[Path]:
    stems = [ARTIFACTS / name for name in DEFAULT_ARTIFACTS]
    return [s for s in stems if s.with_suffix(".npz").is_file() or s.name == "injection"]


class GuardModel:
    """Every head artifact over one feature pass, in and out as Triton tensors."""

    def __init__(self, artifacts: Sequence[Path], encoder_dir: Path | None = None) -> None:
        self.artifacts = [Path(a) for a in artifacts]
        self.encoder_dir = Path(encoder_dir) if encoder_dir else default_encoder_dir()
        self.heads = GuardHeads.load(self.artifacts, self.encoder_dir)

    @property
    def outputs(self) -> tuple[TensorSpec, ...]:
        # The embedding's width as the heads compute it (not necessarily the encoder's).
        width = int(self.analyze(["warm up"])[EMBEDDING].shape[1])
        return (
            TensorSpec(EMBEDDING, "TYPE_FP32", (width,)),
            TensorSpec(NUM_TOKENS, "TYPE_INT32"),
            *(TensorSpec(name, "TYPE_FP32") for name in self.heads.outputs),
        )

    def config_pbtxt(self, name: str, max_batch_size: int) -> str:
        """The served model's config: this model's tensors, its files as parameters."""
        parameters = {
            "artifacts": json.dumps([str(a) for a in self.artifacts]),
            "static_encoder": str(self.encoder_dir),
        }
        return config_pbtxt(name, INPUTS, self.outputs, max_batch_size, parameters)

    @classmethod
    def from_parameters(cls, parameters: dict[str, str]) -> GuardModel:
        """The model that `config_pbtxt`'s parameters describe."""
        artifacts = [Path(a) for a in json.loads(parameters["artifacts"])]
        return cls(artifacts, Path(parameters["static_encoder"]))

    def analyze(self, texts: list[str]) -> dict[str, np.ndarray]:
        result = self.heads.analyze(texts)
        n = len(texts)
        out = {EMBEDDING: result[EMBEDDING].astype(np.float32).reshape(n, -1)}
        out[NUM_TOKENS] = result[NUM_TOKENS].astype(np.int32).reshape(n, 1)
        for name in self.heads.outputs:
            out[name] = result[name].astype(np.float32).reshape(n, 1)
        return out


def texts_of(text: np.ndarray) -> list[str]:
    """The texts of a `text` tensor ([N, 1] BYTES)."""
    # Invalid UTF-8 is replaced, not refused: a guard must still judge the rest.
    return [
        v.decode("utf-8", errors="replace") if isinstance(v, bytes) else str(v)
        for v in text.reshape(-1)
    ]
