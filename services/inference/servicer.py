"""gRPC mapping of the inference service."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp

from inference.domain import Delta, Inference
from llmops.v1 import common_pb2, inference_pb2_grpc
from llmops.v1 import inference_pb2 as pb
from llmops_core import ModelStatus, Sampling

_FINISH = {
    "stop": pb.FINISH_REASON_STOP,
    "length": pb.FINISH_REASON_LENGTH,
    "cancelled": pb.FINISH_REASON_CANCELLED,
}
_KINDS = {"llm": pb.MODEL_KIND_LLM, "embedding": pb.MODEL_KIND_EMBEDDING}


def sampling_from_proto(p: common_pb2.SamplingParams, default_max_tokens: int = 256) -> Sampling:
    """Proto zeros mean "not set" except temperature, where 0 is greedy decoding."""
    return Sampling(
        max_tokens=p.max_tokens or default_max_tokens,
        temperature=p.temperature,
        top_p=p.top_p or 1.0,
        top_k=p.top_k,
        repetition_penalty=p.repetition_penalty or 1.0,
        presence_penalty=p.presence_penalty,
        frequency_penalty=p.frequency_penalty,
        stop=tuple(p.stop),
        bad_words=tuple(p.bad_words),
        seed=p.seed if p.HasField("seed") else None,
        beam_width=p.beam_width or 1,
    )


def _usage(delta: Delta) -> common_pb2.TokenUsage:
    return common_pb2.TokenUsage(input_tokens=delta.input_tokens, output_tokens=delta.output_tokens)


def _model_info(m: ModelStatus) -> pb.ModelInfo:
    info = pb.ModelInfo(
        name=m.name, kind=_KINDS[m.kind], ready=m.ready, backend=m.backend, endpoints=m.endpoints
    )
    info.triton_model = m.backend_model
    info.max_context_tokens = m.max_context_tokens
    info.dimension = m.dimension
    for health in m.endpoint_status:
        status = info.endpoint_status.add(
            address=health.address,
            healthy=health.healthy,
            last_error=health.last_error,
            in_flight=health.in_flight,
        )
        if health.check_time:
            status.check_time.CopyFrom(_timestamp(health.check_time))
    return info


def _timestamp(seconds: float) -> Timestamp:
    stamp = Timestamp()
    stamp.FromNanoseconds(int(seconds * 1e9))
    return stamp


class InferenceServicer(inference_pb2_grpc.InferenceServiceServicer):
    def __init__(self, inference: Inference) -> None:
        self.inference = inference

    def _prepare(self, request):
        return self.inference.prepare(
            request.model,
            request.prompt,
            [(m.role, m.content) for m in request.messages],
            sampling_from_proto(request.sampling),
            request.request_id,
        )

    async def Generate(self, request, context):
        done = await self.inference.complete(self._prepare(request))
        return pb.GenerateResponse(
            text=done.text,
            model=done.model,
            finish_reason=_FINISH.get(done.finish_reason, 0),
            usage=common_pb2.TokenUsage(
                input_tokens=done.input_tokens, output_tokens=done.output_tokens
            ),
            time_to_first_token_ms=done.time_to_first_token_ms,
            duration_ms=done.duration_ms,
            endpoint=done.endpoint,
        )

    async def GenerateStream(self, request, context):
        async for delta in self.inference.stream(self._prepare(request)):
            response = pb.GenerateStreamResponse(
                delta=delta.text, model=delta.model, endpoint=delta.endpoint
            )
            if delta.finish_reason:
                response.finish_reason = _FINISH.get(delta.finish_reason, 0)
                response.usage.CopyFrom(_usage(delta))
                response.time_to_first_token_ms = delta.time_to_first_token_ms
            yield response

    async def CancelGeneration(self, request, context):
        self.inference.cancel(request.request_id)
        return pb.CancelGenerationResponse()

    async def Embed(self, request, context):
        model = request.model or self.inference.default_embedding_model
        embedded = await self.inference.embed(model, list(request.texts))
        vectors = embedded.vectors
        return pb.EmbedResponse(
            embeddings=[pb.Embedding(values=v) for v in vectors],
            model=model,
            dimension=len(vectors[0]) if vectors else 0,
            usage=common_pb2.TokenUsage(input_tokens=embedded.input_tokens or 0),
        )

    async def ListModels(self, request, context):
        models = sorted(await self.inference.models(), key=lambda m: m.name)
        return pb.ListModelsResponse(models=[_model_info(m) for m in models])
