"""gRPC mapping of the retrieval service."""

from __future__ import annotations

from google.protobuf import timestamp_pb2

from llmops.v1 import retrieval_pb2 as pb
from llmops.v1 import retrieval_pb2_grpc
from llmops_core import CollectionInfo
from retrieval.domain import Chunking, DocumentInput, Retrieval

_DISTANCES = {pb.DISTANCE_COSINE: "cosine", pb.DISTANCE_DOT: "dot", pb.DISTANCE_L2: "l2"}
_DISTANCE_ENUMS = {name: value for value, name in _DISTANCES.items()}
_STATUS = {
    "created": pb.DOCUMENT_STATUS_CREATED,
    "updated": pb.DOCUMENT_STATUS_UPDATED,
    "unchanged": pb.DOCUMENT_STATUS_UNCHANGED,
}


class RetrievalServicer(retrieval_pb2_grpc.RetrievalServiceServicer):
    def __init__(self, retrieval: Retrieval) -> None:
        self.retrieval = retrieval

    async def CreateCollection(self, request, context):
        wanted = request.collection
        info = await self.retrieval.create_collection(
            CollectionInfo(
                wanted.name,
                wanted.dimension,
                _DISTANCES.get(wanted.distance, ""),
                wanted.embedding_model,
            )
        )
        return pb.CreateCollectionResponse(collection=collection_to_proto(info))

    async def GetCollection(self, request, context):
        info = await self.retrieval.get_collection(request.name)
        return pb.GetCollectionResponse(collection=collection_to_proto(info))

    async def IngestDocuments(self, request, context):
        documents = [
            DocumentInput(d.id, d.text, d.title, d.source, dict(d.metadata))
            for d in request.documents
        ]
        chunking = Chunking(
            request.chunking.chunk_size,
            request.chunking.chunk_overlap,
            request.chunking.sentence_aware or not request.HasField("chunking"),
        )
        results, revision = await self.retrieval.ingest(request.collection, documents, chunking)
        return pb.IngestDocumentsResponse(
            results=[
                pb.DocumentResult(
                    document_id=r.document_id, status=_STATUS[r.status], chunk_count=r.chunk_count
                )
                for r in results
            ],
            revision=revision,
        )

    async def Search(self, request, context):
        hits, revision = await self.retrieval.search(
            request.collection,
            request.query,
            request.k or 5,
            score_threshold=request.score_threshold,
        )
        return pb.SearchResponse(
            hits=[
                pb.SearchHit(
                    chunk_id=hit.chunk.id,
                    document_id=hit.chunk.document_id,
                    text=hit.chunk.text,
                    score=hit.score,
                    dense_score=hit.score,
                    title=hit.chunk.title,
                    source=hit.chunk.source,
                    metadata=dict(hit.chunk.metadata),
                    chunk_index=int(hit.chunk.metadata.get("chunk_index", 0)),
                )
                for hit in hits
            ],
            revision=revision,
        )


def collection_to_proto(info: CollectionInfo) -> pb.Collection:
    created = timestamp_pb2.Timestamp()
    created.FromNanoseconds(int(info.created_at * 1e9))
    return pb.Collection(
        name=info.name,
        dimension=info.dimension,
        distance=_DISTANCE_ENUMS.get(info.distance, 0),
        embedding_model=info.embedding_model,
        revision=info.revision,
        document_count=info.document_count,
        chunk_count=info.chunk_count,
        create_time=created,
        store="embedded",
    )
