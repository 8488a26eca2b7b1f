"""The extension points of llmops: one Protocol per plugin kind, and the values they trade.

A plugin is a class with a ``name``, a pydantic ``Config`` model, a constructor
``(config, context)``, async methods and ``health()``. Values are plain frozen
dataclasses: plugins never see protobuf or gRPC.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel

T = TypeVar("T")


@dataclass(frozen=True)
class Health:
    """Whether a plugin can serve, and why not."""

    ok: bool
    detail: str = ""


@runtime_checkable
class Plugin(Protocol):
    """What every plugin has."""

    name: ClassVar[str]
    Config: ClassVar[type[BaseModel]]

    async def health(self) -> Health:
        """Cheap readiness probe: can this plugin serve requests right now?"""
        ...

    async def close(self) -> None:
        """Release connections and files; called once at server shutdown."""
        ...


# --- prompt store -------------------------------------------------------------------------


@dataclass(frozen=True)
class PromptRecord:
    """One immutable prompt version. ``content`` is the normalised, JSON-able template and config.

    ``labels`` (output only) names the labels that point at this version when it was read,
    split labels included; stores fill it where they can do so without an extra read.
    """

    name: str
    version: int
    content: Mapping[str, Any]
    content_hash: str
    tags: tuple[str, ...] = ()
    commit_message: str = ""
    author: str = ""
    created_at: float = 0.0
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class PromotionGateRecord:
    """The evaluation a version must have passed before a gated label may point at it."""

    require_evaluation: bool = True
    metric: str = ""  # empty: the run's overall ``passed`` suffices
    min_score: float = 0.0
    dataset: str = ""  # empty: any dataset


@dataclass(frozen=True)
class LabelRecord:
    """A movable pointer from a label name to a version (or a weighted split of versions).

    With a split, ``version`` is the arm with the largest weight (the first such arm on a
    tie): the control version, used for compare-and-set.
    """

    prompt_name: str
    name: str
    version: int
    protected: bool = False
    updated_at: float = 0.0
    splits: tuple[tuple[int, int], ...] = ()  # (version, weight) pairs for A/B tests
    gate: PromotionGateRecord | None = None
    # Identifies the gate as it was set: a move admitted under one gate is refused by the
    # store if the gate changed meanwhile.
    gate_id: str = ""


@dataclass(frozen=True)
class PromptInfo:
    """A prompt's summary: its newest version, labels and timestamps."""

    name: str
    latest_version: int
    labels: tuple[LabelRecord, ...] = ()
    tags: tuple[str, ...] = ()  # of the newest version
    type: str = ""  # of the newest version: "text" or "chat"
    created_at: float = 0.0
    updated_at: float = 0.0


# Event types of the registry's audit log (PromptEventType without its prefix).
PROMPT_EVENT_TYPES = (
    "VERSION_CREATED",
    "LABEL_SET",
    "LABEL_SPLIT",
    "LABEL_ROLLED_BACK",
    "LABEL_PROTECTION_CHANGED",
    "PROMOTION_GATE_CHANGED",
    "LABEL_DELETED",
    "PROMPT_DELETED",
)


@dataclass(frozen=True)
class PromptEventRecord:
    """One entry of the append-only audit log; ``event_id`` orders them (a stream id)."""

    event_id: str
    type: str  # one of PROMPT_EVENT_TYPES
    prompt_name: str
    version: int = 0
    label: str = ""
    previous_version: int = 0
    splits: tuple[tuple[int, int], ...] = ()
    author: str = ""
    reason: str = ""
    timestamp_ms: int = 0
    evaluation_run_id: str = ""
    protected: bool = False


class PromptEventStream(Protocol):
    """Live registry events for one watcher; ``aclose()`` ends the subscription."""

    def __aiter__(self) -> AsyncIterator[PromptEventRecord]: ...

    async def __anext__(self) -> PromptEventRecord: ...

    async def aclose(self) -> None: ...


class PromptStore(Plugin, Protocol):
    """Durable, concurrency-safe storage of prompt versions, labels and their audit log.

    Every change is atomic and writes its audit event in the same step; the event is
    also delivered to watchers. Methods that change a label raise FailedPreconditionError
    for a lost compare-and-set, a protected label without ``allow_protected`` or a gate
    that was not admitted, and NotFoundError for a missing prompt, label or version,
    without changing anything.
    """

    async def create_version(self, draft: PromptRecord) -> tuple[PromptRecord, bool]:
        """Store ``draft`` as the next version, atomically.

        If a version with the same ``content_hash`` exists, return it and ``False``
        (idempotent push); else the new record (its ``version`` assigned) and ``True``.
        """
        ...

    async def get_version(self, name: str, version: int) -> PromptRecord | None: ...

    async def latest_version(self, name: str) -> int:
        """The highest version number of ``name``, 0 if the prompt does not exist."""
        ...

    async def version_by_hash(self, name: str, content_hash: str) -> int:
        """The version of ``name`` whose content has ``content_hash``; 0 if there is none."""
        ...

    async def get_label(self, name: str, label: str) -> LabelRecord | None: ...

    async def list_labels(self, name: str) -> list[LabelRecord]: ...

    async def set_label(
        self,
        name: str,
        label: str,
        version: int,
        *,
        expected_version: int | None,
        author: str,
        reason: str,
        allow_protected: bool = False,
        evaluation_run_id: str = "",
        admitted_gate: str = "",
    ) -> LabelRecord:
        """Point ``label`` at ``version`` with compare-and-set on ``expected_version``.

        ``None`` skips the check, ``0`` requires that the label does not exist yet.
        Raises FailedPreconditionError when the current version differs. A gated label
        moves only if ``admitted_gate`` is the ``gate_id`` the caller checked the move
        against (or the version is one the label already points at).
        """
        ...

    async def set_label_split(
        self,
        name: str,
        label: str,
        splits: Sequence[tuple[int, int]],
        *,
        expected_version: int | None,
        author: str,
        reason: str,
        allow_protected: bool = False,
        evaluation_run_ids: Sequence[str] = (),
        admitted_gate: str = "",
    ) -> LabelRecord:
        """Split ``label`` over (version, weight) arms; checks as in ``set_label``."""
        ...

    async def rollback_label(
        self,
        name: str,
        label: str,
        *,
        version: int | None,
        expected_version: int | None,
        author: str,
        reason: str,
        allow_protected: bool = False,
    ) -> tuple[LabelRecord, int]:
        """Move ``label`` back to ``version``, or (None) to what it pointed at before its last
        move that was not undone; returns the label and the version it left."""
        ...

    async def protect_label(
        self, name: str, label: str, protected: bool, *, author: str, reason: str
    ) -> LabelRecord: ...

    async def set_promotion_gate(
        self,
        name: str,
        label: str,
        gate: PromotionGateRecord | None,
        *,
        allow_protected: bool,
        author: str,
        reason: str,
    ) -> LabelRecord:
        """Set (or with None remove) the label's promotion gate."""
        ...

    async def delete_label(
        self,
        name: str,
        label: str,
        *,
        expected_version: int | None,
        allow_protected: bool,
        author: str,
        reason: str,
    ) -> None: ...

    async def resolve(
        self, name: str, *, label: str, version: int, point: int
    ) -> tuple[PromptRecord, str]:
        """The version ``label`` (or the explicit ``version``) stands for, in one read.

        A split label picks the arm whose cumulative weight range holds
        ``point % total_weight`` (arms in their stored order). Returns the record (with
        ``labels`` filled) and the label resolved ("" for an explicit version). Raises
        NotFoundError naming what is missing; never falls back to another label.
        """
        ...

    async def get_prompt(self, name: str) -> PromptInfo | None: ...

    async def list_prompts(
        self, *, prefix: str, after: str, tag: str, label: str, limit: int
    ) -> tuple[list[PromptInfo], str]:
        """Prompts in name order after ``after`` that match the filters.

        Returns at most ``limit`` prompts and the name to continue after ("" when there are
        no more); a page may hold fewer than ``limit`` when the filters skip many names.
        """
        ...

    async def list_versions(self, name: str, *, before: int, limit: int) -> list[PromptRecord]:
        """Versions numbered below ``before`` (0: all), newest first, at most ``limit``."""
        ...

    async def delete_prompt(
        self, name: str, *, allow_protected: bool, author: str, reason: str
    ) -> bool:
        """Delete every version and label of ``name`` (its audit log stays); False if absent."""
        ...

    async def read_events(
        self, prompt_name: str, *, before: str, after: str, count: int
    ) -> list[PromptEventRecord]:
        """Audit events newest first, of one prompt ("" for all), with ids below ``before``
        and above ``after`` (stream ids; "" leaves that end open)."""
        ...

    async def watch(self, prefix: str, after_event_id: str) -> PromptEventStream:
        """Subscribe to events of prompts whose name starts with ``prefix``.

        With ``after_event_id``, the events after it are replayed first, then live ones
        follow without a gap. Subscribed when this returns. Raises InvalidArgumentError for
        an id that is malformed, newer than every event, or older than what is retained.
        """
        ...


# --- retrieval ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CollectionInfo:
    """A vector collection: its schema and counters. ``revision`` grows with every change."""

    name: str
    dimension: int
    distance: str = "cosine"
    embedding_model: str = ""
    revision: int = 0
    document_count: int = 0
    chunk_count: int = 0
    created_at: float = 0.0


@dataclass(frozen=True)
class Chunk:
    """A piece of a document with its embedding."""

    id: str
    document_id: str
    text: str
    vector: Sequence[float]
    title: str = ""
    source: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ScoredChunk:
    """A search hit: the chunk (without its vector) and its similarity."""

    chunk: Chunk
    score: float


class VectorStore(Plugin, Protocol):
    """Collections of embedded chunks, searchable by vector."""

    async def create_collection(self, info: CollectionInfo) -> CollectionInfo:
        """Create an empty collection; AlreadyExistsError if the name is taken."""
        ...

    async def get_collection(self, name: str) -> CollectionInfo:
        """NotFoundError if there is no such collection."""
        ...

    async def document_hash(self, collection: str, document_id: str) -> str | None:
        """The content hash the document was last stored with, or None."""
        ...

    async def replace_document(
        self, collection: str, document_id: str, content_hash: str, chunks: Sequence[Chunk]
    ) -> int:
        """Atomically replace all chunks of a document; returns the new collection revision."""
        ...

    async def search(self, collection: str, vector: Sequence[float], k: int) -> list[ScoredChunk]:
        """The ``k`` nearest chunks, best first."""
        ...


class Embedder(Plugin, Protocol):
    """Turns texts into vectors (batched)."""

    model: str

    async def dimension(self) -> int: ...

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order."""
        ...


# --- guardrails -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """Something a check found: what, how sure, and where (character spans)."""

    category: str
    score: float
    message: str
    spans: tuple[tuple[int, int], ...] = ()


class SharedWork:
    """Work that several checks of one request need, done once and shared.

    Checks of a decision run concurrently; the first to ask for ``key`` starts
    ``make()``, the others await the same result (or exception). One model pass over the
    input then serves injection, harm and topic checks alike.
    """

    def __init__(self) -> None:
        self._results: dict[Hashable, asyncio.Future[Any]] = {}

    async def once(self, key: Hashable, make: Callable[[], Awaitable[T]]) -> T:
        future = self._results.get(key)
        if future is None:
            future = asyncio.ensure_future(make())
            self._results[key] = future
        return await asyncio.shield(future)

    def cancel(self) -> None:
        """Stops work no check waits for any more (the decision ran out of time)."""
        for future in self._results.values():
            future.cancel()


@dataclass(frozen=True)
class GuardInput:
    """What a check looks at: the text, and for output checks the question, retrieved
    context and system prompt. ``shared`` is this request's memo of work done once."""

    text: str
    stage: str  # "input" or "output"
    context: Sequence[str] = ()
    question: str = ""
    system_prompt: str = ""
    shared: SharedWork = field(default_factory=SharedWork, compare=False, repr=False)


class Guard(Plugin, Protocol):
    """One input or output check. It reports findings; the policy decides the action.

    ``categories`` names what its findings may be (e.g. ``pii.email``); ``needs_context``
    says it judges an answer against the retrieved passages.
    """

    stages: ClassVar[frozenset[str]]
    description: ClassVar[str]
    categories: ClassVar[tuple[str, ...]]

    async def check(self, item: GuardInput) -> list[Finding]: ...


class Detector(Plugin, Protocol):
    """A monitoring detector run over recorded traces (drift, quality); finds what to review."""

    async def detect(self, traces: Sequence[Mapping[str, Any]]) -> list[Finding]: ...


# --- monitoring -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TraceEvent:
    """One recorded request: its id, when, and the serialised trace."""

    trace_id: str
    timestamp_ms: int
    payload: bytes


class EventSink(Plugin, Protocol):
    """An append-only, replayable log of traces, idempotent by trace id."""

    async def record(self, event: TraceEvent) -> tuple[bool, str]:
        """Append ``event`` unless its trace id was recorded; returns (recorded, position id)."""
        ...

    async def get(self, trace_id: str) -> TraceEvent | None: ...

    async def read_range(self, start_ms: int, end_ms: int) -> AsyncIterator[TraceEvent]:
        """Events recorded in [start_ms, end_ms], oldest first."""
        ...


# --- inference ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sampling:
    """Decoding parameters, named as in TensorRT-LLM."""

    max_tokens: int = 256
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    repetition_penalty: float = 1.0
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    stop: tuple[str, ...] = ()
    bad_words: tuple[str, ...] = ()
    seed: int | None = None
    beam_width: int = 1


@dataclass(frozen=True)
class GenerationRequest:
    """A raw completion request: the chat template is already applied."""

    model: str
    prompt: str
    sampling: Sampling
    request_id: str = ""


@dataclass(frozen=True)
class GenerationChunk:
    """A piece of streamed output; the last one carries the usage and the finish reason."""

    text: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    finish_reason: str | None = None  # "stop" | "length" | None while streaming
    endpoint: str = ""  # the server that produced it, when the backend has several


@dataclass(frozen=True)
class Embeddings:
    """Vectors in the order of the texts, and the tokens the model read (None: not reported)."""

    vectors: list[list[float]]
    input_tokens: int | None = None


@dataclass(frozen=True)
class EndpointHealth:
    """What a backend knows about one of its servers (a snapshot)."""

    address: str
    healthy: bool
    last_error: str = ""
    check_time: float = 0.0  # Unix time of the last call or probe that told us; 0: never
    in_flight: int = 0
    calls: int = 0  # calls that reached the endpoint
    failures: int = 0  # calls and probes that could not reach it


@dataclass(frozen=True)
class ModelStatus:
    name: str
    kind: str  # "llm" | "embedding"
    ready: bool
    backend: str
    endpoints: tuple[str, ...] = ()
    backend_model: str = ""  # the model's name inside the backend (e.g. Triton's)
    endpoint_status: tuple[EndpointHealth, ...] = ()  # healthy: the model is ready there
    max_context_tokens: int = 0  # LLMs: prompt + output tokens the model can hold
    dimension: int = 0  # embedding models: vector size


class InferenceBackend(Plugin, Protocol):
    """Runs models: streamed generation, embeddings, model listing."""

    def generate_stream(self, request: GenerationRequest) -> AsyncIterator[GenerationChunk]: ...

    async def embed(self, model: str, texts: Sequence[str]) -> Embeddings: ...

    async def list_models(self) -> list[ModelStatus]: ...


# --- gateway --------------------------------------------------------------------------------


class Stage(Plugin, Protocol):
    """An extra step of the gateway's request path, run on a mutable per-request state."""

    async def run(self, state: dict[str, Any]) -> None: ...
