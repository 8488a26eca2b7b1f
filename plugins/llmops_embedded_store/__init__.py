"""The embedded vector store: exact search in memory, persisted to one file per collection."""

from llmops_embedded_store.store import EmbeddedVectorStore

__all__ = ["EmbeddedVectorStore"]
