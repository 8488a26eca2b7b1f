"""VectorStore plugin ``embedded``: collections kept in memory, each saved to ``<dir>/<name>.npz``.

Exact search is the right default up to a few hundred thousand chunks on a CPU
(a 384-d matrix product over 100k rows takes milliseconds) and it needs no server.
Every change rewrites the collection's file atomically, so a crash leaves either
the old or the new state, never a mix.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict

from llmops_core import Chunk, CollectionInfo, Health, PluginContext, ScoredChunk
from llmops_core.errors import AlreadyExistsError, InvalidArgumentError, NotFoundError
from llmops_embedded_store._collection import MemoryCollection

DISTANCES = ("cosine", "dot", "l2")


class EmbeddedStoreConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: Path | None = None  # default: <data_dir>/vectors


class EmbeddedVectorStore:
    """Exact nearest-neighbour search, persisted per collection."""

    name: ClassVar[str] = "embedded"
    Config: ClassVar[type[BaseModel]] = EmbeddedStoreConfig

    def __init__(self, config: EmbeddedStoreConfig, context: PluginContext) -> None:
        self.path = config.path or Path(context.settings.data_dir) / "vectors"
        self._collections: dict[str, MemoryCollection] = {}
        self._lock = asyncio.Lock()  # one writer at a time; searches read a consistent snapshot
        self._loaded = False

    async def health(self) -> Health:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return Health(False, f"cannot write {self.path}: {exc}")
        return Health(True, f"embedded store at {self.path}")

    async def close(self) -> None:
        self._collections.clear()

    async def create_collection(self, info: CollectionInfo) -> CollectionInfo:
        if info.distance not in DISTANCES:
            raise InvalidArgumentError(
                f"distance '{info.distance}' is not supported; use one of {', '.join(DISTANCES)}"
            )
        async with self._lock:
            self._load_all()
            if info.name in self._collections:
                raise AlreadyExistsError(f"collection '{info.name}' exists already")
            collection = MemoryCollection(
                CollectionInfo(
                    info.name,
                    info.dimension,
                    info.distance,
                    info.embedding_model,
                    created_at=time.time(),
                )
            )
            await asyncio.to_thread(collection.save, self._file(info.name))
            self._collections[info.name] = collection
            return collection.info

    async def get_collection(self, name: str) -> CollectionInfo:
        return self._get(name).info

    async def document_hash(self, collection: str, document_id: str) -> str | None:
        return self._get(collection).document_hashes.get(document_id)

    async def replace_document(
        self, collection: str, document_id: str, content_hash: str, chunks: Sequence[Chunk]
    ) -> int:
        async with self._lock:
            target = self._get(collection)
            revision = target.replace_document(document_id, content_hash, list(chunks))
            await asyncio.to_thread(target.save, self._file(collection))
            return revision

    async def search(self, collection: str, vector: Sequence[float], k: int) -> list[ScoredChunk]:
        target = self._get(collection)
        if len(vector) != target.info.dimension:
            raise InvalidArgumentError(
                f"query vector has {len(vector)} dimensions; collection '{collection}' has "
                f"{target.info.dimension}"
            )
        return target.search(list(vector), k)

    def _get(self, name: str) -> MemoryCollection:
        self._load_all()
        try:
            return self._collections[name]
        except KeyError:
            raise NotFoundError(
                f"collection '{name}' does not exist; create it or ingest into it first",
                reason="COLLECTION_NOT_FOUND",
            ) from None

    def _load_all(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for file in sorted(self.path.glob("*.npz")):
            collection = MemoryCollection.load(file)
            self._collections[collection.info.name] = collection

    def _file(self, name: str) -> Path:
        return self.path / f"{quote(name, safe='')}.npz"
