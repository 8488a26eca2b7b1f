"""Every head artifact over one feature pass: what the Triton model `guard` computes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from llmops_guard_models._encoder import StaticEncoder
from llmops_guard_models._features import Featurizer
from llmops_guard_models._heads import Artifact, load_artifact

EMBEDDING = "embedding"
NUM_TOKENS = "num_input_tokens"


class GuardHeads:
    """Loads artifacts, checks they agree with each other and with the encoder, and
    scores texts with all of them from features computed once per text."""

    def __init__(self, encoder: StaticEncoder, artifacts: Sequence[Artifact]) -> None:
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
        self.encoder = encoder
        self.artifacts = tuple(artifacts)
        self.featurizer = Featurizer(encoder, artifacts[0].feature_config)
        self.outputs = tuple(outputs)

    @classmethod
    def load(cls, stems: Sequence[Path], encoder_dir: Path | None = None) -> GuardHeads:
        return cls(StaticEncoder.load(encoder_dir), [load_artifact(s) for s in stems])

    def analyze(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """``embedding`` (N, D), ``num_input_tokens`` (N,), and (N,) per head output."""
        features = self.featurizer.features(texts)
        result = {EMBEDDING: features.embedding, NUM_TOKENS: features.num_tokens}
        for artifact in self.artifacts:
            scores = artifact.head.score_features(features).astype(np.float32)
            for column, output in enumerate(artifact.outputs):
                result[output] = scores[:, column]
        return result
