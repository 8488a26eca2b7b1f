"""Features every head reads: the static sentence embedding beside hashed character n-grams.

The embedding carries meaning (paraphrases of "ignore your instructions" land close
together); the n-grams carry surface form that a mean of token vectors loses (word order
inside a phrase, words MiniLM's English vocabulary splits into letters, other scripts,
obfuscation). Hashing needs no vocabulary, so training and serving share the
configuration alone, and both call this module.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse as sp

from llmops_guard_models._encoder import StaticEncoder


@dataclass(frozen=True)
class FeatureConfig:
    """How texts become features; recorded in every artifact and checked when serving."""

    char_ngram_min: int = 2
    char_ngram_max: int = 4
    hash_bits: int = 16  # 65,536 hashed columns: 256 KB of float32 weights per output
    # Longer texts are cut: a few pages already decide, and the cost stays bounded.
    max_chars: int = 16_384

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> FeatureConfig:
        return cls(**data)


@dataclass(frozen=True)
class Features:
    """Features of N texts, kept in two parts so that serving never stacks them."""

    embedding: np.ndarray  # (N, D) float32, unit rows (zeros for a text with no token)
    hashed: sp.csr_matrix  # (N, 2**hash_bits) float64, l2-normalised rows
    num_tokens: np.ndarray  # (N,) int32: MiniLM tokens read, [UNK] excluded

    def matrix(self) -> sp.csr_matrix:
        """One (N, D + 2**hash_bits) matrix, embedding columns first (for training)."""
        return sp.hstack([sp.csr_matrix(self.embedding), self.hashed], format="csr")


def normalise(text: str, max_chars: int) -> str:
    # NFKC folds full-width letters, ligatures and compatibility forms, a cheap part of
    # obfuscation, onto the plain characters both the tokenizer and the n-grams know.
    return unicodedata.normalize("NFKC", text[:max_chars])


class Featurizer:
    """``features(texts)`` for serving, ``transform(texts)`` for training."""

    def __init__(self, encoder: StaticEncoder, config: FeatureConfig | None = None) -> None:
        from sklearn.feature_extraction.text import HashingVectorizer

        self.encoder = encoder
        self.config = config or FeatureConfig()
        self._hasher = HashingVectorizer(
            analyzer="char_wb",
            ngram_range=(self.config.char_ngram_min, self.config.char_ngram_max),
            n_features=2**self.config.hash_bits,
            alternate_sign=False,
            norm="l2",
            lowercase=True,
            dtype=np.float64,
        )

    @property
    def n_features(self) -> int:
        return self.encoder.dimensions + 2**self.config.hash_bits

    def features(self, texts: Sequence[str]) -> Features:
        cleaned = [normalise(t, self.config.max_chars) for t in texts]
        ids = self.encoder.token_ids(cleaned)
        return Features(
            embedding=self.encoder.embed_ids(ids),
            hashed=self._hasher.transform(cleaned).tocsr(),
            num_tokens=np.asarray([len(i) for i in ids], dtype=np.int32),
        )

    def transform(self, texts: Sequence[str], batch_size: int = 2048) -> sp.csr_matrix:
        parts = [
            self.features(texts[start : start + batch_size]).matrix()
            for start in range(0, len(texts), batch_size)
        ]
        if not parts:
            return sp.csr_matrix((0, self.n_features))
        return sp.vstack(parts, format="csr")


def featurize(
    texts: Sequence[str], encoder: StaticEncoder | None = None, config: FeatureConfig | None = None
) -> sp.csr_matrix:
    """Training features of ``texts`` with the default encoder and configuration."""
    return Featurizer(encoder or StaticEncoder.load(), config).transform(texts)
