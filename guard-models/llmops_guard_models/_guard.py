"""Every head artifact over one feature pass: what the Triton model `guard` computes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from llmops_guard_models._encoder import StaticEncoder
from llmops_guard_models._features import Featurizer
from llmops_guard_models._heads import Artifact, load_artifact

EMBEDDING = "embedding"
NUM_TOKENS = "num_input_tokens"
# The `embedding` output's map, made by guard-models/calibrate_topics.py.
EMBEDDING_MAP = Path(__file__).resolve().parents[1] / "artifacts" / "topics_reference"


class EmbeddingMap:
    """The static embedding mapped linearly towards all-MiniLM-L6-v2's sentence space.

    A mean of static token vectors is dominated by directions that frequent words share,
    so its cosines barely separate topics; a ridge map fitted to MiniLM's own sentence
    embeddings of benign text (256 -> MiniLM's top 256 directions) restores most of
    MiniLM's similarity at the cost of one small matrix product. The heads read the
    static features; only the `embedding` output is mapped.
    """

    def __init__(self, weight: np.ndarray, bias: np.ndarray, encoder_probe: list) -> None:
        self.weight = np.asarray(weight, dtype=np.float32)
        self.bias = np.asarray(bias, dtype=np.float32)
        self.encoder_probe = encoder_probe

    @classmethod
    def load(cls, stem: Path = EMBEDDING_MAP) -> EmbeddingMap:
        arrays = np.load(stem.with_suffix(".npz"))
        probe = json.loads(stem.with_suffix(".json").read_text())["encoder"]["probe"]
        return cls(arrays["weight"], arrays["bias"], probe)

    def __call__(self, embedding: np.ndarray) -> np.ndarray:
        """(N, D) unit rows; a text with no known token (zero row) stays zero."""
        mapped = embedding @ self.weight + self.bias
        norms = np.linalg.norm(mapped, axis=1, keepdims=True)
        known = np.linalg.norm(embedding, axis=1, keepdims=True) > 0
        return np.where(known, mapped / np.where(norms == 0, 1.0, norms), 0.0).astype(np.float32)


class GuardHeads:
    """Loads artifacts, checks they agree with each other and with the encoder, and
    scores texts with all of them from features computed once per text."""

    def __init__(
        self,
        encoder: StaticEncoder,
        artifacts: Sequence[Artifact],
        embedding_map: EmbeddingMap | None = None,
    ) -> None:
        if not artifacts:
            raise ValueError("no head artifact to serve")
        configs = {a.feature_config for a in artifacts}
        if len(configs) != 1:
            names = ", ".join(f"{a.name}: {a.feature_config}" for a in artifacts)
            raise ValueError(f"head artifacts disagree on features ({names}); retrain them")
        outputs = [o for a in artifacts for o in a.outputs]
        clashes = sorted(
            {o for o in outputs if outputs.count(o) > 1} | {EMBEDDING, NUM_TOKENS} & set(outputs)
        )
        if clashes:
            raise ValueError(f"output names used twice or reserved: {clashes}")
        for artifact in artifacts:
            encoder.verify(artifact.encoder_probe, f"head artifact {artifact.name!r}")
        if embedding_map is not None:
            encoder.verify(embedding_map.encoder_probe, "the embedding map (topics_reference)")
        self.embedding_map = embedding_map
        self.encoder = encoder
        self.artifacts = tuple(artifacts)
        self.featurizer = Featurizer(encoder, artifacts[0].feature_config)
        self.outputs = tuple(outputs)

    @classmethod
    def load(cls, stems: Sequence[Path], encoder_dir: Path | None = None) -> GuardHeads:
        """The heads of ``stems``, with the committed embedding map."""
        return cls(
            StaticEncoder.load(encoder_dir), [load_artifact(s) for s in stems], EmbeddingMap.load()
        )

    def analyze(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """``embedding`` (N, D), ``num_input_tokens`` (N,), and (N,) per head output."""
        features = self.featurizer.features(texts)
        embedding = features.embedding
        if self.embedding_map is not None:
            embedding = self.embedding_map(embedding)
        result = {EMBEDDING: embedding, NUM_TOKENS: features.num_tokens}
        for artifact in self.artifacts:
            scores = artifact.head.score_features(features).astype(np.float32)
            for column, output in enumerate(artifact.outputs):
                result[output] = scores[:, column]
        return result
