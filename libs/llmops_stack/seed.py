"""The demo content of the local stack: the ``rag-answer`` prompt and the MLOps/LLMOps corpus.

Seeding is idempotent: the prompt file maps to one version (same content, same
version), the label moves only if it points elsewhere, and unchanged documents are
skipped by content hash.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from llmops.v1 import prompt_registry_pb2, retrieval_pb2
from llmops_core.errors import AlreadyExistsError, NotFoundError
from llmops_sdk import PromptRegistryClient, RetrievalClient
from llmops_sdk.prompt_files import read_prompt_file
from llmops_stack._paths import repo_root

DEMO_LABEL = "production"


def demo_dir() -> Path:
    return repo_root() / "deploy/local/demo"


@dataclass(frozen=True)
class SeedReport:
    prompt: str
    version: int
    collection: str
    documents_ingested: int
    documents_unchanged: int
    revision: int


async def seed_prompt(
    client: PromptRegistryClient, path: Path, label: str = DEMO_LABEL
) -> prompt_registry_pb2.PromptVersion:
    created = await client.rpc.CreatePromptVersion(read_prompt_file(path))
    version = created.version
    try:
        current = await client.rpc.ResolvePrompt(
            prompt_registry_pb2.ResolvePromptRequest(name=version.name, label=label)
        )
        expected = current.version.version
    except NotFoundError:
        expected = 0
    if expected != version.version:
        await client.rpc.SetLabel(
            prompt_registry_pb2.SetLabelRequest(
                name=version.name,
                label=label,
                version=version.version,
                expected_version=expected,
                author="llmops-seed",
                reason="demo prompt",
            )
        )
    return version


def corpus_documents(folder: Path) -> list[retrieval_pb2.Document]:
    """Markdown files as documents: id = file stem, title = the first ``# `` line."""
    documents = []
    for path in sorted(folder.glob("*.md")):
        text = path.read_text()
        first, _, body = text.partition("\n")
        title = first[2:].strip() if first.startswith("# ") else path.stem
        documents.append(
            retrieval_pb2.Document(
                id=path.stem,
                title=title,
                text=body.strip() if first.startswith("# ") else text,
                source=f"deploy/local/demo/corpus/{path.name}",
            )
        )
    return documents


async def seed_corpus(
    client: RetrievalClient, folder: Path, collection: str
) -> retrieval_pb2.IngestDocumentsResponse:
    with contextlib.suppress(AlreadyExistsError):
        await client.rpc.CreateCollection(
            retrieval_pb2.CreateCollectionRequest(
                collection=retrieval_pb2.Collection(name=collection)
            )
        )
    return await client.rpc.IngestDocuments(
        retrieval_pb2.IngestDocumentsRequest(
            collection=collection, documents=corpus_documents(folder)
        ),
        timeout=300,
    )


async def seed_demo(
    registry_address: str, retrieval_address: str, collection: str = "docs"
) -> SeedReport:
    async with (
        PromptRegistryClient(registry_address) as registry,
        RetrievalClient(retrieval_address) as retrieval,
    ):
        version = await seed_prompt(registry, demo_dir() / "prompts/rag-answer.yaml")
        ingested = await seed_corpus(retrieval, demo_dir() / "corpus", collection)
    unchanged = sum(r.status == retrieval_pb2.DOCUMENT_STATUS_UNCHANGED for r in ingested.results)
    return SeedReport(
        version.name,
        version.version,
        collection,
        len(ingested.results) - unchanged,
        unchanged,
        ingested.revision,
    )
