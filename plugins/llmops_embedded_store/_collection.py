"""One collection held in memory: a matrix of unit vectors plus the chunk rows beside it."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from llmops_core import Chunk, CollectionInfo, ScoredChunk


class MemoryCollection:
    """Exact cosine / dot / L2 search over a dense float32 matrix."""

    def __init__(self, info: CollectionInfo) -> None:
        self.info = info
        self.vectors = np.zeros((0, info.dimension), dtype=np.float32)
        self.rows: list[dict] = []  # chunk fields without the vector, same order as vectors
        self.document_hashes: dict[str, str] = {}

    def replace_document(self, document_id: str, content_hash: str, chunks: list[Chunk]) -> int:
        keep = [i for i, row in enumerate(self.rows) if row["document_id"] != document_id]
        new_vectors = np.asarray([c.vector for c in chunks], dtype=np.float32).reshape(
            len(chunks), self.info.dimension
        )
        if self.info.distance == "cosine":
            new_vectors = _unit(new_vectors)
        self.vectors = np.concatenate([self.vectors[keep], new_vectors])
        self.rows = [self.rows[i] for i in keep] + [_row(c) for c in chunks]
        if chunks:
            self.document_hashes[document_id] = content_hash
        else:
            self.document_hashes.pop(document_id, None)
        self.info = replace(
            self.info,
            revision=self.info.revision + 1,
            document_count=len(self.document_hashes),
            chunk_count=len(self.rows),
        )
        return self.info.revision

    def search(self, vector: list[float], k: int) -> list[ScoredChunk]:
        if not self.rows:
            return []
        query = np.asarray(vector, dtype=np.float32)
        if self.info.distance == "l2":
            scores = -np.linalg.norm(self.vectors - query, axis=1)
        else:
            if self.info.distance == "cosine":
                query = _unit(query[None, :])[0]
            scores = self.vectors @ query
        k = min(k, len(self.rows))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [ScoredChunk(_chunk(self.rows[i]), float(scores[i])) for i in top]

    def save(self, path: Path) -> None:
        """Write the whole collection to one file, atomically (temp file + rename)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        header = json.dumps(
            {"info": asdict(self.info), "rows": self.rows, "hashes": self.document_hashes}
        )
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                np.savez(
                    handle, vectors=self.vectors, header=np.frombuffer(header.encode(), np.uint8)
                )
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path) -> MemoryCollection:
        with np.load(path) as data:
            header = json.loads(data["header"].tobytes().decode())
            collection = cls(CollectionInfo(**header["info"]))
            collection.vectors = data["vectors"].astype(np.float32)
        collection.rows = header["rows"]
        collection.document_hashes = header["hashes"]
        return collection


def _unit(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1, norms)


def _row(chunk: Chunk) -> dict:
    return {
        "id": chunk.id,
        "document_id": chunk.document_id,
        "text": chunk.text,
        "title": chunk.title,
        "source": chunk.source,
        "metadata": dict(chunk.metadata),
    }


def _chunk(row: dict) -> Chunk:
    return Chunk(vector=(), **row)
