"""Banned topics: text close in meaning to configured topic descriptions.

Each topic is a description or a list of example sentences; they are embedded once per
instance (on first use) by the Triton embedding model. A text is cut into windows of
whole sentences (at most ``window_words`` words), all embedded in one batched call, so
one banned sentence buried in a long harmless text is judged on its own rather than
diluted. A topic's similarity is the best cosine between any window and any of its
examples. A text of more than ``max_windows`` windows has only the windows sharing the
most words with the topics embedded: that bounds the model's work on any input, at the
price of missing a paraphrase that shares no word with any topic in a very long text.

The score maps cosine linearly around ``similarity``: ``similarity`` scores 0.5,
``similarity +- MARGIN`` scores 1 and 0. Cosines mean different things under different
encoders, so the default ``similarity`` is per model (``CALIBRATED``, chosen on the
"dev" half of guard-models/data/topics_labelled.jsonl); a model without one needs
``similarity`` set. topics_test.py measures precision and recall on both halves.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from pydantic import Field, field_validator, model_validator
from tritonclient.grpc import service_pb2

from llmops_core import Finding, GuardInput, Health, PluginContext
from llmops_core.errors import ConfigError
from llmops_guards._base import Action, GuardConfig
from llmops_guards._models import GUARD_MODEL, GuardModelClient
from llmops_triton._endpoints import TritonEndpoints
from llmops_triton.embedder import embed_texts

MARGIN = 0.1
# Embedding model -> cosine that scores 0.5, calibrated on topics_labelled.jsonl "dev"
# (best F1, ties to precision). Held-out "test": minilm P 0.90 R 0.76; the static
# `guard` encoder P 0.38 R 0.60, so minilm is the default despite its own call.
CALIBRATED: dict[str, float] = {"minilm": 0.34, "guard": 0.62}
MAX_EXAMPLES = 200  # per topic
_TOPIC_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
# A sentence: up to and including its end mark, or a line.
_SENTENCE = re.compile(r"[^.!?。！？\n]+[.!?。！？]*|\n+")
_WORD = re.compile(r"\S+")
_LETTERS = re.compile(r"\w+")
MIN_TOPICAL_LETTERS = 4  # shorter words are mostly function words


class BannedTopicsConfig(GuardConfig):
    action: Action = "block"
    topics: dict[str, str | list[str]] = Field(default_factory=dict)
    similarity: float | None = Field(default=None, ge=-1.0, le=1.0)  # None: CALIBRATED[model]
    window_words: int = Field(default=20, ge=4, le=256)
    max_windows: int = Field(default=32, ge=1, le=256)
    model: str | None = None  # default: triton.embedding_model
    endpoints: list[str] | None = None  # default: triton.endpoints

    @field_validator("topics")
    @classmethod
    def _usable(cls, topics: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
        for name, examples in topics.items():
            if not _TOPIC_NAME.fullmatch(name):
                raise ValueError(
                    f"topic name {name!r} must be 1-64 lowercase letters, digits, '_' or '-'"
                )
            listed = [examples] if isinstance(examples, str) else examples
            if not listed or not all(e.strip() for e in listed):
                raise ValueError(f"topic {name!r} needs a description or non-empty examples")
            if len(listed) > MAX_EXAMPLES:
                raise ValueError(f"topic {name!r} has more than {MAX_EXAMPLES} examples")
        return topics

    @model_validator(mode="after")
    def _calibrated(self) -> BannedTopicsConfig:
        if self.similarity is None and self.model is not None and self.model not in CALIBRATED:
            raise ValueError(_uncalibrated(self.model))
        return self


def _uncalibrated(model: str) -> str:
    return (
        f"no calibrated similarity for embedding model '{model}' (calibrated: "
        f"{', '.join(sorted(CALIBRATED))}): set the option 'similarity'"
    )


class BannedTopicsGuard:
    name: ClassVar[str] = "banned-topics"
    Config: ClassVar[type[GuardConfig]] = BannedTopicsConfig
    stages: ClassVar[frozenset[str]] = frozenset({"input", "output"})
    description: ClassVar[str] = (
        "Text whose meaning is close to a configured topic (embedding similarity)."
    )
    categories: ClassVar[tuple[str, ...]] = ("topic.*",)
    needs_context: ClassVar[bool] = False
    supports_redaction: ClassVar[bool] = False

    def __init__(self, config: BannedTopicsConfig, context: PluginContext) -> None:
        self.config = config
        self.model = config.model or context.settings.triton.embedding_model
        if config.similarity is None and self.model not in CALIBRATED:
            raise ConfigError(_uncalibrated(self.model))
        self.similarity = CALIBRATED[self.model] if config.similarity is None else config.similarity
        self.endpoints = TritonEndpoints(config.endpoints or context.settings.triton.endpoints)
        self._names: list[str] = []
        self._owners: np.ndarray | None = None  # topic index of each example row
        self._examples: np.ndarray | None = None  # unit vectors, one row per example
        # `guard` (the input checks' shared static encoder) also scores heads: its own client.
        self._client = (
            GuardModelClient(self.endpoints, self.model) if self.model == GUARD_MODEL else None
        )
        self._vocabulary: frozenset[str] = frozenset()  # the topics' words
        self._lock = asyncio.Lock()

    async def health(self) -> Health:
        try:
            ready = await self.endpoints.unary(
                lambda stub, timeout: stub.ModelReady(
                    service_pb2.ModelReadyRequest(name=self.model), timeout=min(timeout, 2.0)
                )
            )
        except Exception as exc:  # noqa: BLE001 - health reports, it does not raise
            return Health(False, str(exc))
        return Health(ready.ready, f"embedding model {self.model}")

    async def close(self) -> None:
        await self.endpoints.close()

    async def check(self, item: GuardInput) -> list[Finding]:
        config: BannedTopicsConfig = self.config
        if not config.topics or not item.text.strip():
            return []
        examples, owners = await self._topic_vectors()
        spans = most_topical(
            item.text, windows(item.text, config.window_words), self._vocabulary, config.max_windows
        )
        vectors = _unit(await self._window_vectors(item, spans))
        cosines = vectors @ examples.T  # windows x examples
        findings = []
        for topic, name in enumerate(self._names):
            columns = cosines[:, owners == topic]
            window, _ = np.unravel_index(int(np.argmax(columns)), columns.shape)
            best = float(columns[window].max())
            score = min(1.0, max(0.0, 0.5 + (best - self.similarity) / (2 * MARGIN)))
            if score > 0.0:
                findings.append(
                    Finding(
                        f"topic.{name}",
                        round(score, 4),
                        f"close to banned topic '{name}' (cosine {best:.2f})",
                        (spans[window],),
                    )
                )
        return findings

    async def _topic_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        async with self._lock:
            if self._examples is None:
                names, owners, texts = [], [], []
                for topic, (name, examples) in enumerate(self.config.topics.items()):
                    listed = [examples] if isinstance(examples, str) else examples
                    names.append(name)
                    owners.extend([topic] * len(listed))
                    texts.extend(listed)
                self._vocabulary = frozenset(_words(" ".join(texts)))
                self._examples = _unit(await self._embed(texts))
                self._owners = np.asarray(owners)
                self._names = names
        assert self._owners is not None
        return self._examples, self._owners

    async def _window_vectors(
        self, item: GuardInput, spans: list[tuple[int, int]]
    ) -> list[Sequence[float]]:
        """The windows' embeddings, through this request's shared work. A text of one
        window asks `guard` exactly what the other input checks ask, so they share it."""
        if self._client is not None and len(spans) == 1:
            client, text = self._client, item.text
            key = ("guard-model", client.key, text)
            return [(await item.shared.once(key, lambda: client.analyze(text))).embedding]
        texts = [item.text[start:end] for start, end in spans]
        key = ("embeddings", self.model, tuple(self.endpoints.endpoints), tuple(texts))
        return await item.shared.once(key, lambda: self._embed(texts))

    async def _embed(self, texts: Sequence[str]) -> list[Sequence[float]]:
        if self._client is not None:
            return [a.embedding for a in await self._client.analyze_many(texts)]
        return (await embed_texts(self.endpoints, self.model, texts)).vectors


def windows(text: str, window_words: int) -> list[tuple[int, int]]:
    """Spans of consecutive whole sentences, each at most ``window_words`` words (a longer
    sentence is cut at word bounds)."""
    sentences = [
        [m.span() for m in _WORD.finditer(text, *s.span())] for s in _SENTENCE.finditer(text)
    ]
    sentences = [words for words in sentences if words]
    return _pack(sentences, window_words) if sentences else [(0, len(text))]


def most_topical(
    text: str, spans: list[tuple[int, int]], vocabulary: frozenset[str], limit: int
) -> list[tuple[int, int]]:
    """The ``limit`` windows sharing the most words with the topics, in text order.

    A text longer than ``limit`` windows is not embedded whole (the model would spend
    seconds on it): a lexical look picks the windows worth embedding."""
    if len(spans) <= limit:
        return spans
    overlaps = [len(vocabulary.intersection(_words(text[a:b]))) for a, b in spans]
    chosen = sorted(range(len(spans)), key=lambda i: (-overlaps[i], i))[:limit]
    return [spans[i] for i in sorted(chosen)]


def _words(text: str) -> list[str]:
    return [w for w in _LETTERS.findall(text.lower()) if len(w) >= MIN_TOPICAL_LETTERS]


def _pack(sentences: list[list[tuple[int, int]]], width: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    start = end = count = 0
    for words in sentences:
        for offset in range(0, len(words), width):
            piece = words[offset : offset + width]
            if count and count + len(piece) > width:
                spans.append((start, end))
                count = 0
            if not count:
                start = piece[0][0]
            end, count = piece[-1][1], count + len(piece)
    spans.append((start, end))
    return spans


def _unit(vectors: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    array = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    return array / np.where(norms == 0, 1.0, norms)
