"""gRPC mapping of the inference service."""

from __future__ import annotations

import time

from inference.domain import Inference
from llmops.v1 import common_pb2, inference_pb2_grpc
from llmops.v1 import inference_pb2 as pb
from llmops_core import Sampling

_FINISH = {"stop": pb.FINISH_REASON_STOP, "length": pb.FINISH_REASON_LENGTH}
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
        )

    async def GenerateStream(self, request, context):
        prepared = self._prepare(request)
        started = time.perf_counter()
        first_ms = 0.0
        async for chunk in self.inference.stream(prepared):
            if chunk.text and not first_ms:
                first_ms = (time.perf_counter() - started) * 1000
            response = pb.GenerateStreamResponse(delta=chunk.text, model=prepared.model)
            if chunk.finish_reason:
                response.finish_reason = _FINISH.get(chunk.finish_reason, 0)
                response.usage.input_tokens = chunk.input_tokens or 0
                response.usage.output_tokens = chunk.output_tokens or 0
                response.time_to_first_token_ms = first_ms
            yield response

    async def Embed(self, request, context):
        model = request.model or self.inference.default_embedding_model
        vectors = await self.inference.embed(model, list(request.texts))
        return pb.EmbedResponse(
            embeddings=[pb.Embedding(values=v) for v in vectors],
            model=model,
            dimension=len(vectors[0]) if vectors else 0,
        )

    async def ListModels(self, request, context):
        return pb.ListModelsResponse(
            models=[
                pb.ModelInfo(
                    name=m.name,
                    kind=_KINDS[m.kind],
                    ready=m.ready,
                    backend=m.backend,
                    endpoints=m.endpoints,
                )
                for m in await self.inference.models()
            ]
        )
