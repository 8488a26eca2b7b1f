"""Shared parts of the trained guard detectors: static encoder, features, linear heads.

Imported by the training scripts in ``guard-models/`` and by the local model server's
``guard`` model, so that both compute identical features.
"""

from llmops_guard_models._encoder import (
    PROBE_TEXTS,
    EncoderMismatchError,
    StaticEncoder,
    default_encoder_dir,
)
from llmops_guard_models._features import FeatureConfig, Features, Featurizer, featurize
from llmops_guard_models._guard import EMBEDDING, NUM_TOKENS, GuardHeads
from llmops_guard_models._heads import Artifact, LinearHead, load_artifact, save_artifact

__all__ = [
    "EMBEDDING",
    "NUM_TOKENS",
    "PROBE_TEXTS",
    "Artifact",
    "EncoderMismatchError",
    "FeatureConfig",
    "Features",
    "Featurizer",
    "GuardHeads",
    "LinearHead",
    "StaticEncoder",
    "default_encoder_dir",
    "featurize",
    "load_artifact",
    "save_artifact",
]
