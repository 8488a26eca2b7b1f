"""Banned topics: text close in meaning to configured topic descriptions.

Each topic is a description or a list of example sentences; they are embedded once per
instance (on first use). A text is cut into windows of whole sentences (at most
``window_words`` words), all embedded in one batched call, so one banned sentence buried
in a long harmless text is judged on its own rather than diluted. A short text (up to a
calibrated number of words) is judged whole: with `guard` it shares the input checks'
own call and costs no call of its own. A topic's
similarity is, in the best window, the mean cosine to the topic's closest examples
(how many, and the window size, calibrated per model). A text of more than ``max_windows`` windows has only the windows
sharing the most words with the topics embedded: that bounds the model's work on any
input, at the price of missing a paraphrase that shares no word with any topic in a very
long text.

The default model is `guard`, whose `embedding` is the static embedding mapped onto
all-MiniLM-L6-v2's sentence space (guard-models/calibrate_topics.py): about as good as
MiniLM itself on the labelled topics at a fraction of its cost. ``model: minilm`` runs
the full MiniLM instead.

The score maps cosine linearly around ``similarity``: ``similarity`` scores 0.5,
``similarity +- MARGIN`` scores 1 and 0. Cosines mean different things under different
encoders, so the default ``similarity`` is per model (``CALIBRATED``, chosen on the
"dev" half of guard-models/data/topics_labelled.jsonl); a model without one needs
``similarity`` set. topics_test.py measures precision and recall on both halves.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from pydantic import Field, field_validator, model_validator
from tritonclient.grpc import service_pb2

from llmops_core import Finding, GuardInput, Health, PluginContext
from llmops_guards._base import Action, GuardConfig
from llmops_guards._models import GUARD_MODEL, GuardModelClient, shared_analyses
from llmops_triton._endpoints import TritonEndpoints
from llmops_triton.embedder import embed_texts

MARGIN = 0.1


@dataclass(frozen=True)
class Calibration:
    similarity: float  # the cosine that scores 0.5
    top_examples: int  # a topic's similarity: mean cosine to this many closest examples
    window_words: int
    whole_words: int  # a text of at most this many words is judged whole, in no window


# Per embedding model, the variant of best F1 on topics_labelled.jsonl "dev" (ties to
# precision) swept by guard-models/calibrate_topics.py. `guard`: the best among variants
# that judge a text of up to 64 words whole, so that it costs no call beyond the input
# checks' shared one (windows of 10 words everywhere: dev F1 0.91, test 0.88, but a call
# of their own, ~13 ms at 64 tokens). Windows of 20 words (dev F1 0.90, held-out "test"
# P 0.93 R 0.82 F1 0.87) are the harm check's too, so both read one windowed call; minilm:
# test P 0.90 R 0.76 F1 0.82 (guard-models/artifacts/topics_reference.md).
CALIBRATED: dict[str, Calibration] = {
    "guard": Calibration(similarity=0.358, top_examples=2, window_words=20, whole_words=64),
    "minilm": Calibration(similarity=0.341, top_examples=1, window_words=32, whole_words=0),
}
# A model without a calibration is given its similarity (the options refuse it otherwise).
UNCALIBRATED = Calibration(similarity=0.0, top_examples=1, window_words=20, whole_words=0)
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
    window_words: int | None = Field(default=None, ge=4, le=256)  # None: the model's
    max_windows: int = Field(default=32, ge=1, le=256)
    model: str = GUARD_MODEL
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
        if self.similarity is None and self.model not in CALIBRATED:
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
        self.model = config.model
        calibration = CALIBRATED.get(self.model, UNCALIBRATED)
        self.similarity = calibration.similarity if config.similarity is None else config.similarity
        self.top_examples = calibration.top_examples
        self.window_words = config.window_words or calibration.window_words
        self.whole_words = calibration.whole_words
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
        if _at_most_words(item.text, self.whole_words):
            spans = [(0, len(item.text))]
        else:
            spans = most_topical(
                item.text,
                windows(item.text, self.window_words),
                self._vocabulary,
                config.max_windows,
            )
        vectors = _unit(await self._window_vectors(item, spans))
        cosines = vectors @ examples.T  # windows x examples
        findings = []
        for topic, name in enumerate(self._names):
            columns = np.sort(cosines[:, owners == topic], axis=1)
            # The mean of the closest examples, not the closest alone: one example that
            # shares a few words with a harmless text no longer decides by itself.
            similarities = columns[:, -self.top_examples :].mean(axis=1)
            window = int(np.argmax(similarities))
            best = float(similarities[window])
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
        if self._client is not None:
            return [a.embedding for a in await shared_analyses(item, self._client, spans)]
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


def _at_most_words(text: str, limit: int) -> bool:
    # Stops counting past the limit: a huge text costs no more than a short one here.
    return sum(1 for _ in itertools.islice(_WORD.finditer(text), limit + 1)) <= limit


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
