"""The retrieval service over a real socket, embedding with MiniLM on the real Triton."""

from __future__ import annotations

import uuid

import pytest

from llmops.v1 import retrieval_pb2 as pb
from llmops_core import Settings
from llmops_core.errors import (
    AlreadyExistsError,
    InvalidArgumentError,
    LlmopsError,
    NotFoundError,
    ResourceExhaustedError,
)
from llmops_core.testing import serving
from llmops_sdk import RetrievalClient
from retrieval.main import create_server

CORPUS = {
    "redis": "Redis is an in-memory key-value store, often used as a cache and as a message broker.",
    "triton": "NVIDIA Triton Inference Server serves machine learning models over HTTP and gRPC.",
    "sourdough": "Sourdough bread rises thanks to wild yeast and lactic acid bacteria in the starter.",
    "tides": "Ocean tides are caused mainly by the gravitational pull of the Moon on the seas.",
}


def _with_triton(settings: Settings, triton_url: str, **retrieval) -> Settings:
    data = settings.model_dump()
    data["triton"]["endpoints"] = [triton_url]
    data["retrieval"].update(retrieval)
    return Settings.model_validate(data)


@pytest.fixture
async def client(settings, triton_url):
    async with (
        serving(create_server(_with_triton(settings, triton_url))) as address,
        RetrievalClient(address) as client,
    ):
        yield client


def _name() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"


def _docs(**texts: str) -> list[pb.Document]:
    return [
        pb.Document(id=key, text=text, title=key.title(), source=f"kb/{key}.md")
        for key, text in texts.items()
    ]


async def _create(client, name: str | None = None) -> str:
    name = name or _name()
    await client.rpc.CreateCollection(
        pb.CreateCollectionRequest(collection=pb.Collection(name=name))
    )
    return name


async def _state(client, name: str) -> tuple[int, int, int]:
    info = (await client.rpc.GetCollection(pb.GetCollectionRequest(name=name))).collection
    return info.revision, info.document_count, info.chunk_count


async def test_a_new_collection_takes_its_dimension_from_the_embedder(client):
    name = _name()
    created = (
        await client.rpc.CreateCollection(
            pb.CreateCollectionRequest(collection=pb.Collection(name=name))
        )
    ).collection
    assert (created.name, created.dimension, created.distance) == (name, 384, pb.DISTANCE_COSINE)
    assert created.embedding_model == "minilm"
    assert (created.revision, created.document_count, created.chunk_count) == (0, 0, 0)
    assert created.create_time.seconds > 0
    fetched = (await client.rpc.GetCollection(pb.GetCollectionRequest(name=name))).collection
    assert fetched == created
    with pytest.raises(AlreadyExistsError, match=f"collection '{name}' exists already"):
        await client.rpc.CreateCollection(
            pb.CreateCollectionRequest(collection=pb.Collection(name=name))
        )


async def test_ingest_is_idempotent_and_a_change_replaces_the_document(client):
    name = await _create(client)
    first = await client.rpc.IngestDocuments(
        pb.IngestDocumentsRequest(collection=name, documents=_docs(**CORPUS))
    )
    assert [r.status for r in first.results] == [pb.DOCUMENT_STATUS_CREATED] * 4
    assert [r.document_id for r in first.results] == list(CORPUS)
    assert all(r.chunk_count == 1 for r in first.results)
    assert first.revision == 4
    assert await _state(client, name) == (4, 4, 4)

    again = await client.rpc.IngestDocuments(
        pb.IngestDocumentsRequest(collection=name, documents=_docs(**CORPUS))
    )
    assert [r.status for r in again.results] == [pb.DOCUMENT_STATUS_UNCHANGED] * 4
    assert all(r.chunk_count == 0 for r in again.results)
    assert again.revision == first.revision
    assert await _state(client, name) == (4, 4, 4)

    changed = await client.rpc.IngestDocuments(
        pb.IngestDocumentsRequest(
            collection=name,
            documents=_docs(
                redis=CORPUS["redis"] + " It also offers streams.", tides=CORPUS["tides"]
            ),
        )
    )
    assert [r.status for r in changed.results] == [
        pb.DOCUMENT_STATUS_UPDATED,
        pb.DOCUMENT_STATUS_UNCHANGED,
    ]
    assert changed.revision > first.revision
    assert await _state(client, name) == (changed.revision, 4, 4)


async def test_changing_only_the_metadata_or_the_chunking_updates_the_document(client):
    name = await _create(client)
    doc = pb.Document(id="d", text=CORPUS["triton"], metadata={"lang": "en"})
    await client.rpc.IngestDocuments(pb.IngestDocumentsRequest(collection=name, documents=[doc]))
    doc.metadata["lang"] = "fr"
    relabelled = await client.rpc.IngestDocuments(
        pb.IngestDocumentsRequest(collection=name, documents=[doc])
    )
    rechunked = await client.rpc.IngestDocuments(
        pb.IngestDocumentsRequest(
            collection=name,
            documents=[doc],
            chunking=pb.ChunkingOptions(chunk_size=60, chunk_overlap=10),
        )
    )
    assert relabelled.results[0].status == pb.DOCUMENT_STATUS_UPDATED
    assert rechunked.results[0].status == pb.DOCUMENT_STATUS_UPDATED
    assert rechunked.results[0].chunk_count > 1
    assert await _state(client, name) == (3, 1, rechunked.results[0].chunk_count)


async def test_search_finds_the_document_that_answers_the_question(client):
    name = await _create(client)
    ingested = await client.rpc.IngestDocuments(
        pb.IngestDocumentsRequest(collection=name, documents=_docs(**CORPUS))
    )
    questions = {
        "What makes the sea level rise and fall twice a day?": "tides",
        "How does a naturally leavened loaf rise?": "sourdough",
        "Which server runs my neural network for inference?": "triton",
        "Where can I cache values in memory?": "redis",
    }
    for question, expected in questions.items():
        reply = await client.rpc.Search(pb.SearchRequest(collection=name, query=question, k=2))
        assert reply.hits[0].document_id == expected, (
            question,
            [h.document_id for h in reply.hits],
        )
        assert len(reply.hits) == 2
        assert reply.hits[0].score >= reply.hits[1].score
        assert reply.revision == ingested.revision
    hit = (
        await client.rpc.Search(pb.SearchRequest(collection=name, query="moon and ocean", k=1))
    ).hits[0]
    assert (hit.chunk_id, hit.title, hit.source, hit.chunk_index) == (
        "tides#0",
        "Tides",
        "kb/tides.md",
        0,
    )
    assert hit.text == CORPUS["tides"]
    assert 0 < hit.score <= 1 and hit.dense_score == hit.score


async def test_k_zero_takes_the_default_of_five(client):
    name = await _create(client)
    breads = {
        f"bread{i}": f"Bread recipe {i}: flour, water, salt and yeast, baked for {20 + i} minutes."
        for i in range(7)
    }
    await client.rpc.IngestDocuments(
        pb.IngestDocumentsRequest(collection=name, documents=_docs(**breads))
    )
    reply = await client.rpc.Search(
        pb.SearchRequest(collection=name, query="how long to bake bread")
    )
    assert len(reply.hits) == 5


async def test_a_score_threshold_drops_weaker_hits(client):
    name = await _create(client)
    await client.rpc.IngestDocuments(
        pb.IngestDocumentsRequest(collection=name, documents=_docs(**CORPUS))
    )
    best = (await client.rpc.Search(pb.SearchRequest(collection=name, query="bread", k=1))).hits[0]
    assert best.document_id == "sourdough"
    strict = await client.rpc.Search(
        pb.SearchRequest(collection=name, query="bread", k=4, score_threshold=best.score - 1e-4)
    )
    assert [h.document_id for h in strict.hits] == ["sourdough"]


NEGATIVE_SCORES_DROPPED = (
    "retrieval/domain.py Retrieval.search keeps `hit.score >= score_threshold` with the proto's "
    "default 0.0, which retrieval.proto defines as 'no threshold': hits with a negative cosine "
    "or dot score are dropped, and every L2 hit (score = -distance) is dropped"
)


async def test_without_a_threshold_every_hit_up_to_k_is_returned(client):
    name = await _create(client)
    await client.rpc.IngestDocuments(
        pb.IngestDocumentsRequest(collection=name, documents=_docs(**CORPUS))
    )
    for query in ("bread", "moon", "cache", "gRPC"):
        hits = (await client.rpc.Search(pb.SearchRequest(collection=name, query=query, k=4))).hits
        assert len(hits) == 4, query


async def test_an_l2_collection_returns_its_nearest_chunks(client):
    name = _name()
    await client.rpc.CreateCollection(
        pb.CreateCollectionRequest(collection=pb.Collection(name=name, distance=pb.DISTANCE_L2))
    )
    await client.rpc.IngestDocuments(
        pb.IngestDocumentsRequest(collection=name, documents=_docs(**CORPUS))
    )
    hits = (
        await client.rpc.Search(
            pb.SearchRequest(collection=name, query="moon pulls the ocean", k=4)
        )
    ).hits
    assert [h.document_id for h in hits][:1] == ["tides"]
    assert len(hits) == 4


async def test_a_long_document_is_chunked_and_each_chunk_is_searchable(client):
    name = await _create(client)
    text = " ".join(CORPUS.values())
    reply = await client.rpc.IngestDocuments(
        pb.IngestDocumentsRequest(
            collection=name,
            documents=[pb.Document(id="all", text=text)],
            chunking=pb.ChunkingOptions(chunk_size=100, chunk_overlap=0, sentence_aware=True),
        )
    )
    assert reply.results[0].chunk_count == 4  # one sentence per chunk
    hit = (
        await client.rpc.Search(pb.SearchRequest(collection=name, query="wild yeast starter", k=1))
    ).hits[0]
    assert (hit.chunk_id, hit.chunk_index, hit.text) == ("all#2", 2, CORPUS["sourdough"])


async def test_collections_survive_a_restart_of_the_service(settings, triton_url):
    configured = _with_triton(settings, triton_url)
    async with serving(create_server(configured)) as address, RetrievalClient(address) as client:
        name = await _create(client)
        await client.rpc.IngestDocuments(
            pb.IngestDocumentsRequest(collection=name, documents=_docs(**CORPUS))
        )
    async with serving(create_server(configured)) as address, RetrievalClient(address) as client:
        assert await _state(client, name) == (4, 4, 4)
        again = await client.rpc.IngestDocuments(
            pb.IngestDocumentsRequest(collection=name, documents=_docs(**CORPUS))
        )
        assert {r.status for r in again.results} == {pb.DOCUMENT_STATUS_UNCHANGED}
        hits = (
            await client.rpc.Search(
                pb.SearchRequest(collection=name, query="gravity of the moon", k=1)
            )
        ).hits
        assert hits[0].document_id == "tides"


async def test_bad_ingests_are_invalid_argument_and_store_nothing(client):
    name = await _create(client)
    await client.rpc.IngestDocuments(
        pb.IngestDocumentsRequest(collection=name, documents=_docs(redis=CORPUS["redis"]))
    )
    before = await _state(client, name)
    fresh = pb.Document(id="fresh", text=CORPUS["tides"])
    cases = [
        ([], None, "documents is empty"),
        ([fresh, pb.Document(id="fresh", text="other")], None, "document id 'fresh' appears twice"),
        ([fresh, pb.Document(id="blank", text="   ")], None, r"documents\[1\]\.text is empty"),
        ([fresh, pb.Document(id="", text="no id")], None, r"documents\[1\]\.id must hold 1 to 512"),
        ([fresh, pb.Document(id="x" * 513, text="long id")], None, r"documents\[1\]\.id must hold"),
        ([fresh], pb.ChunkingOptions(chunk_size=10), "chunk_size is 10"),
        ([fresh], pb.ChunkingOptions(chunk_size=100, chunk_overlap=60), "chunk_overlap is 60"),
    ]
    for documents, chunking, message in cases:
        request = pb.IngestDocumentsRequest(collection=name, documents=documents, chunking=chunking)
        with pytest.raises(InvalidArgumentError, match=message):
            await client.rpc.IngestDocuments(request)
        assert await _state(client, name) == before, message
    # The document of the failed requests was never stored: ingesting it now creates it.
    created = await client.rpc.IngestDocuments(
        pb.IngestDocumentsRequest(collection=name, documents=[fresh])
    )
    assert created.results[0].status == pb.DOCUMENT_STATUS_CREATED


async def test_request_limits_come_from_the_settings_and_store_nothing(settings, triton_url):
    limited = _with_triton(
        settings, triton_url, max_documents_per_request=3, max_document_chars=100
    )
    async with serving(create_server(limited)) as address, RetrievalClient(address) as client:
        name = await _create(client)
        documents = [pb.Document(id=f"d{i}", text=f"Document number {i}.") for i in range(4)]
        with pytest.raises(LlmopsError, match="4 documents in one request; the limit is 3"):
            await client.rpc.IngestDocuments(
                pb.IngestDocumentsRequest(collection=name, documents=documents)
            )
        with pytest.raises(
            LlmopsError, match=r"documents\[1\]\.text has 101 characters; the limit is 100"
        ):
            await client.rpc.IngestDocuments(
                pb.IngestDocumentsRequest(
                    collection=name, documents=[documents[0], pb.Document(id="big", text="x" * 101)]
                )
            )
        assert await _state(client, name) == (0, 0, 0)
        ok = await client.rpc.IngestDocuments(
            pb.IngestDocumentsRequest(collection=name, documents=documents[:3])
        )
        assert len(ok.results) == 3


async def test_too_many_or_too_large_documents_are_resource_exhausted(settings, triton_url):
    limited = _with_triton(
        settings, triton_url, max_documents_per_request=1, max_document_chars=100
    )
    async with serving(create_server(limited)) as address, RetrievalClient(address) as client:
        name = await _create(client)
        with pytest.raises(ResourceExhaustedError):
            await client.rpc.IngestDocuments(
                pb.IngestDocumentsRequest(
                    collection=name,
                    documents=[pb.Document(id="a", text="a."), pb.Document(id="b", text="b.")],
                )
            )
        with pytest.raises(ResourceExhaustedError):
            await client.rpc.IngestDocuments(
                pb.IngestDocumentsRequest(
                    collection=name, documents=[pb.Document(id="big", text="x" * 101)]
                )
            )


async def test_bad_searches_are_invalid_argument(client):
    name = await _create(client)
    await client.rpc.IngestDocuments(
        pb.IngestDocumentsRequest(collection=name, documents=_docs(**CORPUS))
    )
    cases = [
        (
            pb.SearchRequest(collection=name, query="bread", k=101),
            "k is 101; it must be between 1 and 100",
        ),
        (pb.SearchRequest(collection=name, query="bread", k=-1), "k is -1"),
        (pb.SearchRequest(collection=name, query=""), "query is empty"),
        (pb.SearchRequest(collection=name, query=" \n\t "), "query is empty"),
        (
            pb.SearchRequest(collection=name, query="q" * 4001),
            "query has 4001 characters; the limit is 4000",
        ),
        (
            pb.SearchRequest(collection="Not A Name", query="bread"),
            "collection 'Not A Name' is not a valid name",
        ),
        (pb.SearchRequest(collection="", query="bread"), "collection is empty"),
    ]
    for request, message in cases:
        with pytest.raises(InvalidArgumentError, match=message):
            await client.rpc.Search(request)
    assert (await client.rpc.Search(pb.SearchRequest(collection=name, query="bread", k=100))).hits


async def test_unknown_collections_are_not_found(client):
    missing = _name()
    calls = [
        client.rpc.GetCollection(pb.GetCollectionRequest(name=missing)),
        client.rpc.Search(pb.SearchRequest(collection=missing, query="bread")),
        client.rpc.IngestDocuments(
            pb.IngestDocumentsRequest(collection=missing, documents=_docs(tides="Tides."))
        ),
    ]
    for call in calls:
        with pytest.raises(NotFoundError, match=f"collection '{missing}' does not exist") as caught:
            await call
        assert caught.value.reason == "COLLECTION_NOT_FOUND"


async def test_bad_collections_are_invalid_argument(client):
    cases = [
        (pb.Collection(name="Has Spaces"), "collection.name 'Has Spaces' is not a valid name"),
        (pb.Collection(name=""), "collection.name is empty"),
        (pb.Collection(name="-leading-dash"), "is not a valid name"),
        (pb.Collection(name=_name(), dimension=-3), "collection.dimension is -3 but the embedder"),
        (pb.Collection(name=_name(), dimension=70000), "collection.dimension is 70000"),
    ]
    for collection, message in cases:
        with pytest.raises(InvalidArgumentError, match=message):
            await client.rpc.CreateCollection(pb.CreateCollectionRequest(collection=collection))
    with pytest.raises(InvalidArgumentError, match="name 'UPPER' is not a valid name"):
        await client.rpc.GetCollection(pb.GetCollectionRequest(name="UPPER"))


async def test_a_dot_product_collection_ranks_by_dot_product(client):
    name = _name()
    created = (
        await client.rpc.CreateCollection(
            pb.CreateCollectionRequest(
                collection=pb.Collection(name=name, distance=pb.DISTANCE_DOT)
            )
        )
    ).collection
    assert created.distance == pb.DISTANCE_DOT
    await client.rpc.IngestDocuments(
        pb.IngestDocumentsRequest(collection=name, documents=_docs(**CORPUS))
    )
    hits = (
        await client.rpc.Search(
            pb.SearchRequest(collection=name, query="moon pulls the ocean", k=2)
        )
    ).hits
    assert hits[0].document_id == "tides"
    assert hits[0].score >= hits[1].score


async def test_a_dimension_that_differs_from_the_embedding_model_is_refused_at_creation(client):
    with pytest.raises(InvalidArgumentError):
        await client.rpc.CreateCollection(
            pb.CreateCollectionRequest(collection=pb.Collection(name=_name(), dimension=16))
        )
