"""Retrieval rules: collections sized to their embedder, idempotent ingestion, dense search."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from llmops_core import (
    Chunk,
    CollectionInfo,
    Embedder,
    ScoredChunk,
    VectorStore,
    require_name,
    require_range,
    require_text,
)
from llmops_core.errors import InvalidArgumentError, ResourceExhaustedError
from retrieval.chunking import chunk_text

MAX_QUERY_CHARS = 4000
MAX_K = 100
MAX_ID_CHARS = 512


@dataclass(frozen=True)
class DocumentInput:
    id: str
    text: str
    title: str = ""
    source: str = ""
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Chunking:
    size: int = 0
    overlap: int = 0
    sentence_aware: bool = True


@dataclass(frozen=True)
class IngestResult:
    document_id: str
    status: str  # created | updated | unchanged
    chunk_count: int


class Retrieval:
    def __init__(
        self, store: VectorStore, embedder: Embedder, *, max_documents: int, max_document_chars: int
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.max_documents = max_documents
        self.max_document_chars = max_document_chars

    async def create_collection(self, info: CollectionInfo) -> CollectionInfo:
        require_name(info.name, "collection.name")
        embedder_dimension = await self.embedder.dimension()
        if info.dimension and info.dimension != embedder_dimension:
            raise InvalidArgumentError(
                f"collection.dimension is {info.dimension} but the embedder "
                f"({self.embedder.model}) makes {embedder_dimension}-d vectors; leave it 0 "
                "to take the embedder's",
                reason="DIMENSION_MISMATCH",
            )
        dimension = embedder_dimension
        return await self.store.create_collection(
            CollectionInfo(
                info.name,
                dimension,
                info.distance or "cosine",
                info.embedding_model or self.embedder.model,
            )
        )

    async def get_collection(self, name: str) -> CollectionInfo:
        require_name(name, "name")
        return await self.store.get_collection(name)

    async def ingest(
        self, collection: str, documents: Sequence[DocumentInput], chunking: Chunking
    ) -> tuple[list[IngestResult], int]:
        """Chunk, embed and store each document; unchanged documents (same hash) are skipped."""
        require_name(collection, "collection")
        info = await self.store.get_collection(collection)
        self._validate(documents)
        results, revision = [], info.revision
        for document in documents:
            digest = _content_hash(document, chunking)
            previous = await self.store.document_hash(collection, document.id)
            if previous == digest:
                results.append(IngestResult(document.id, "unchanged", 0))
                continue
            spans = chunk_text(
                document.text,
                chunking.size,
                chunking.overlap,
                sentence_aware=chunking.sentence_aware,
            )
            vectors = await self.embedder.embed([span.text for span in spans])
            chunks = [
                Chunk(
                    f"{document.id}#{index}",
                    document.id,
                    span.text,
                    vector,
                    document.title,
                    document.source,
                    {**document.metadata, "chunk_index": str(index)},
                )
                for index, (span, vector) in enumerate(zip(spans, vectors, strict=True))
            ]
            if chunks and len(chunks[0].vector) != info.dimension:
                raise InvalidArgumentError(
                    f"the embedder returns {len(chunks[0].vector)}-d vectors but collection "
                    f"'{collection}' holds {info.dimension}-d ones; ingest into a collection made "
                    "for this embedding model"
                )
            revision = await self.store.replace_document(collection, document.id, digest, chunks)
            results.append(
                IngestResult(document.id, "updated" if previous else "created", len(chunks))
            )
        return results, revision

    async def search(
        self, collection: str, query: str, k: int, *, score_threshold: float = 0.0
    ) -> tuple[list[ScoredChunk], int]:
        require_name(collection, "collection")
        require_text(query, "query", max_chars=MAX_QUERY_CHARS)
        require_range(k, "k", 1, MAX_K)
        info = await self.store.get_collection(collection)
        [vector] = await self.embedder.embed([query])
        hits = await self.store.search(collection, vector, k)
        if score_threshold:  # 0 means no threshold (scores can be negative: dot, L2)
            hits = [hit for hit in hits if hit.score >= score_threshold]
        return hits, info.revision

    def _validate(self, documents: Sequence[DocumentInput]) -> None:
        if not documents:
            raise InvalidArgumentError("documents is empty; send at least one document")
        if len(documents) > self.max_documents:
            raise ResourceExhaustedError(
                f"{len(documents)} documents in one request; the limit is {self.max_documents}: "
                "split them into several requests"
            )
        seen = set()
        for index, document in enumerate(documents):
            if not document.id or len(document.id) > MAX_ID_CHARS:
                raise InvalidArgumentError(
                    f"documents[{index}].id must hold 1 to {MAX_ID_CHARS} characters"
                )
            if document.id in seen:
                raise InvalidArgumentError(
                    f"document id '{document.id}' appears twice in the request"
                )
            seen.add(document.id)
            field = f"documents[{index}].text"
            if len(document.text) > self.max_document_chars:
                raise ResourceExhaustedError(
                    f"{field} has {len(document.text)} characters; the limit is "
                    f"{self.max_document_chars}: split the document",
                    reason="DOCUMENT_TOO_LARGE",
                )
            require_text(document.text, field, max_chars=self.max_document_chars)


def _content_hash(document: DocumentInput, chunking: Chunking) -> str:
    payload = json.dumps(
        [
            document.text,
            document.title,
            document.source,
            sorted(document.metadata.items()),
            [chunking.size, chunking.overlap, chunking.sentence_aware],
        ]
    )
    return "sha256:" + hashlib.sha256(payload.encode()).hexdigest()
