"""Features every head reads: the static sentence embedding beside hashed n-grams.

The embedding carries meaning (paraphrases of "ignore your instructions" land close
together); the n-grams carry surface form that a mean of token vectors loses: character
n-grams (other scripts, words MiniLM's English vocabulary splits into letters,
obfuscation) and token bigrams (word order inside a phrase). Hashing needs no
vocabulary, so training and serving share the configuration alone, and both call this
module.

The hashing is vectorised numpy over code points and token ids (scikit-learn's
HashingVectorizer took 24 ms for a 512-token text, this well under one), with uint64
arithmetic that wraps the same way on every machine.
"""

from __future__ import annotations

import re
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
    token_ngram_max: int = 2  # token unigrams and bigrams
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
    hashed: sp.csr_matrix  # (N, 2**hash_bits) float32, l2-normalised log counts
    num_tokens: np.ndarray  # (N,) int32: MiniLM tokens read, [UNK] excluded

    def matrix(self) -> sp.csr_matrix:
        """One (N, D + 2**hash_bits) matrix, embedding columns first (for training)."""
        return sp.hstack([sp.csr_matrix(self.embedding), self.hashed], format="csr")


def normalise(text: str, max_chars: int) -> str:
    # NFKC folds full-width letters, ligatures and compatibility forms, a cheap part of
    # obfuscation, onto the plain characters both the tokenizer and the n-grams know.
    return unicodedata.normalize("NFKC", text[:max_chars])


_SPACE = re.compile(r"\s+")
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit constants (splitmix64)
_MIX = np.uint64(0xBF58476D1CE4E5B9)


def _ngram_hashes(symbols: np.ndarray, n: int, salt: int) -> np.ndarray:
    """A 64-bit hash of every run of ``n`` consecutive symbols (code points or token ids)."""
    if symbols.size < n:
        return np.empty(0, dtype=np.uint64)
    with np.errstate(over="ignore"):
        h = np.full(symbols.size - n + 1, np.uint64(salt * 1_000_003 + n), dtype=np.uint64)
        for offset in range(n):
            h = (h ^ symbols[offset : offset + h.size]) * _MULTIPLIER
        h ^= h >> np.uint64(31)
        h *= _MIX
        h ^= h >> np.uint64(29)
    return h


class Featurizer:
    """``features(texts)`` for serving, ``transform(texts)`` for training."""

    def __init__(self, encoder: StaticEncoder, config: FeatureConfig | None = None) -> None:
        self.encoder = encoder
        self.config = config or FeatureConfig()
        self._shift = np.uint64(64 - self.config.hash_bits)

    @property
    def n_features(self) -> int:
        return self.encoder.dimensions + 2**self.config.hash_bits

    def _hashed_row(self, text: str, token_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Column indices and l2-normalised log(1 + count) values of one text."""
        folded = " " + _SPACE.sub(" ", text.casefold()).strip() + " "
        points = np.frombuffer(folded.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        tokens = token_ids.astype(np.uint64)
        parts = [
            _ngram_hashes(points, n, salt=1)
            for n in range(self.config.char_ngram_min, self.config.char_ngram_max + 1)
        ]
        parts += [
            _ngram_hashes(tokens, n, salt=2) for n in range(1, self.config.token_ngram_max + 1)
        ]
        # A dense count over the hashed space is cheaper than sorting the n-grams.
        counts = np.bincount(
            (np.concatenate(parts) >> self._shift).astype(np.intp),
            minlength=2**self.config.hash_bits,
        )
        columns = np.flatnonzero(counts)
        values = np.log1p(counts[columns].astype(np.float32))
        norm = float(np.linalg.norm(values))
        return columns.astype(np.int32), values / norm if norm > 0 else values

    def features(self, texts: Sequence[str]) -> Features:
        cleaned = [normalise(t, self.config.max_chars) for t in texts]
        ids = self.encoder.token_ids(cleaned)
        rows = [self._hashed_row(t, i) for t, i in zip(cleaned, ids, strict=True)]
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        indptr[1:] = np.cumsum([r[0].size for r in rows])
        hashed = sp.csr_matrix(
            (
                np.concatenate([r[1] for r in rows]) if rows else np.empty(0, np.float32),
                np.concatenate([r[0] for r in rows]) if rows else np.empty(0, np.int32),
                indptr,
            ),
            shape=(len(rows), 2**self.config.hash_bits),
        )
        return Features(
            embedding=self.encoder.embed_ids(ids),
            hashed=hashed,
            num_tokens=np.asarray([len(i) for i in ids], dtype=np.int32),
        )

    def transform(self, texts: Sequence[str], batch_size: int = 2048) -> sp.csr_matrix:
        parts = [
            self.features(texts[start : start + batch_size]).matrix()
            for start in range(0, len(texts), batch_size)
        ]
        if not parts:
            return sp.csr_matrix((0, self.n_features), dtype=np.float32)
        return sp.vstack(parts, format="csr")


def featurize(
    texts: Sequence[str], encoder: StaticEncoder | None = None, config: FeatureConfig | None = None
) -> sp.csr_matrix:
    """Training features of ``texts`` with the default encoder and configuration."""
    return Featurizer(encoder or StaticEncoder.load(), config).transform(texts)
