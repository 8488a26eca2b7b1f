"""Linear heads over the shared features, and their artifacts on disk.

A head follows scikit-learn's estimator contract (parameters in ``__init__``, learned
state in attributes ending in ``_``, ``fit`` / ``predict_proba``) so that it can be refit
and compared without touching the serving code. It holds one logistic regression per
output name: ``("injection",)`` or ``("harm_toxicity", "harm_identity_bias", ...)``.

An artifact is ``<stem>.npz`` (weights) plus ``<stem>.json`` (output names, feature
configuration, the static encoder's probe vectors, thresholds, training facts).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from llmops_guard_models._encoder import StaticEncoder
from llmops_guard_models._features import FeatureConfig, Features

ARTIFACT_VERSION = 1


class LinearHead:
    """Independent logistic regressions, one per output, over the same features."""

    def __init__(
        self,
        outputs: Sequence[str] = ("injection",),
        C: float = 1.0,  # noqa: N803 - scikit-learn's name
        class_weight: str | None = "balanced",
        max_iter: int = 2000,
        random_state: int = 0,
    ) -> None:
        self.outputs = tuple(outputs)
        self.C = C
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X: sp.spmatrix | np.ndarray, Y: np.ndarray) -> LinearHead:  # noqa: N803
        """``Y``: (N,) for one output or (N, outputs) of 0/1."""
        from sklearn.linear_model import LogisticRegression

        labels = np.asarray(Y).reshape(X.shape[0], -1)
        if labels.shape[1] != len(self.outputs):
            raise ValueError(f"Y has {labels.shape[1]} columns for outputs {self.outputs}")
        coef = np.zeros((len(self.outputs), X.shape[1]), dtype=np.float32)
        intercept = np.zeros(len(self.outputs), dtype=np.float32)
        for column in range(labels.shape[1]):
            # liblinear: deterministic for a fixed random_state, and single-threaded.
            model = LogisticRegression(
                C=self.C,
                class_weight=self.class_weight,
                max_iter=self.max_iter,
                solver="liblinear",
                random_state=self.random_state,
            ).fit(X, labels[:, column])
            coef[column] = model.coef_[0]
            intercept[column] = model.intercept_[0]
        self.coef_, self.intercept_ = coef, intercept
        return self

    def decision_function(self, X: sp.spmatrix | np.ndarray) -> np.ndarray:  # noqa: N803
        return np.asarray(X @ self.coef_.T, dtype=np.float64) + self.intercept_

    def predict_proba(self, X: sp.spmatrix | np.ndarray) -> np.ndarray:  # noqa: N803
        """(N, outputs): the probability of each output's positive class."""
        return _sigmoid(self.decision_function(X))

    def score_features(self, features: Features) -> np.ndarray:
        """``predict_proba(features.matrix())`` without building the stacked matrix."""
        dims = features.embedding.shape[1]
        logits = features.embedding.astype(np.float64) @ self.coef_[:, :dims].T
        logits += np.asarray(features.hashed @ self.coef_[:, dims:].T)
        return _sigmoid(logits + self.intercept_)


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(logits, -50.0, 50.0)))


@dataclass
class Artifact:
    """A fitted head with what it was trained with."""

    name: str
    head: LinearHead
    feature_config: FeatureConfig
    encoder_probe: list[list[float]]
    metadata: dict = field(default_factory=dict)

    @property
    def outputs(self) -> tuple[str, ...]:
        return self.head.outputs


def save_artifact(
    stem: Path,
    head: LinearHead,
    feature_config: FeatureConfig,
    encoder: StaticEncoder,
    metadata: Mapping[str, object],
) -> tuple[Path, Path]:
    """Writes ``<stem>.npz`` and ``<stem>.json``; ``metadata`` holds thresholds, data
    hashes, metrics (anything JSON)."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    weights = stem.with_suffix(".npz")
    info = stem.with_suffix(".json")
    np.savez_compressed(weights, coef=head.coef_, intercept=head.intercept_)
    document = {
        "artifact_version": ARTIFACT_VERSION,
        "name": stem.name,
        "outputs": list(head.outputs),
        "head": {
            "kind": "logistic-regression",
            "C": head.C,
            "class_weight": head.class_weight,
            "max_iter": head.max_iter,
            "random_state": head.random_state,
        },
        "feature_config": feature_config.to_json(),
        "encoder": {
            "dimensions": encoder.dimensions,
            "table_sha256": encoder.meta.get("table_sha256"),
            "probe": encoder.probe(),
        },
        **dict(metadata),
    }
    info.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")
    return weights, info


def load_artifact(stem: Path) -> Artifact:
    stem = Path(stem)
    document = json.loads(stem.with_suffix(".json").read_text())
    if document.get("artifact_version") != ARTIFACT_VERSION:
        raise ValueError(
            f"{stem}.json has artifact_version {document.get('artifact_version')!r}; "
            f"this code reads {ARTIFACT_VERSION}"
        )
    with np.load(stem.with_suffix(".npz")) as weights:
        coef = weights["coef"].astype(np.float32)
        intercept = weights["intercept"].astype(np.float32)
    spec = document["head"]
    head = LinearHead(
        document["outputs"],
        C=spec["C"],
        class_weight=spec["class_weight"],
        max_iter=spec["max_iter"],
        random_state=spec["random_state"],
    )
    if coef.shape[0] != len(head.outputs):
        raise ValueError(f"{stem}.npz has {coef.shape[0]} rows for outputs {head.outputs}")
    head.coef_, head.intercept_ = coef, intercept
    known = {"artifact_version", "name", "outputs", "head", "feature_config", "encoder"}
    return Artifact(
        name=document["name"],
        head=head,
        feature_config=FeatureConfig.from_json(document["feature_config"]),
        encoder_probe=document["encoder"]["probe"],
        metadata={k: v for k, v in document.items() if k not in known},
    )
