"""InferenceBackend plugin ``triton``: generation and embeddings on NVIDIA Triton.

It speaks only the KServe v2 gRPC protocol with TensorRT-LLM's tensor names, so the
same plugin drives the local CPU model server and a TensorRT-LLM engine served
with tensor parallelism; only ``endpoints``, ``flavour`` and model names differ.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field
from tritonclient.grpc import service_pb2

from llmops_core import GenerationChunk, GenerationRequest, Health, ModelStatus, PluginContext
from llmops_core.errors import InvalidArgumentError, NotFoundError, UnavailableError
from llmops_triton._endpoints import TritonEndpoints
from llmops_triton._flavours import generation_inputs
from llmops_triton._tensors import infer_request, is_final, outputs_of, text_of
from llmops_triton.embedder import embed_texts


class TritonBackendConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    endpoints: list[str] | None = None  # default: triton.endpoints
    flavour: Literal["ensemble", "tensorrt_llm_bls", "llmapi"] = "ensemble"
    # Public model name -> Triton model name. Default: {inference.default_model: triton.llm_model}.
    llm_models: dict[str, str] = Field(default_factory=dict)
    embedding_models: dict[str, str] = Field(default_factory=dict)


class TritonBackend:
    name: ClassVar[str] = "triton"
    Config: ClassVar[type[BaseModel]] = TritonBackendConfig

    def __init__(self, config: TritonBackendConfig, context: PluginContext) -> None:
        settings = context.settings
        self.flavour = config.flavour
        self.endpoints = TritonEndpoints(config.endpoints or settings.triton.endpoints)
        self.llm_models = config.llm_models or {
            settings.inference.default_model: settings.triton.llm_model
        }
        self.embedding_models = config.embedding_models or {
            settings.triton.embedding_model: settings.triton.embedding_model
        }

    async def health(self) -> Health:
        try:
            ready = await self.endpoints.unary(
                lambda stub: stub.ServerReady(service_pb2.ServerReadyRequest(), timeout=2)
            )
        except Exception as exc:  # noqa: BLE001 - health reports, never raises
            return Health(False, str(exc))
        return Health(ready.ready, "triton ready" if ready.ready else "triton not ready")

    async def close(self) -> None:
        await self.endpoints.close()

    async def generate_stream(self, request: GenerationRequest) -> AsyncIterator[GenerationChunk]:
        triton_model = self._triton_model(self.llm_models, request.model)
        inputs = generation_inputs(self.flavour, request.prompt, request.sampling, stream=True)
        message = infer_request(
            triton_model, inputs, request_id=request.request_id, final_response=True
        )
        input_tokens = output_tokens = None
        async for response in self.endpoints.stream(
            lambda stub: stub.ModelStreamInfer(iter([message]))
        ):
            if response.error_message:
                raise _stream_error(response.error_message, triton_model)
            outputs = outputs_of(response.infer_response)
            text = text_of(outputs.get("text_output"))
            input_tokens = _count(outputs, "num_input_tokens", input_tokens)
            output_tokens = _count(outputs, "num_output_tokens", output_tokens)
            if is_final(response.infer_response):
                finish = "length" if output_tokens == request.sampling.max_tokens else "stop"
                yield GenerationChunk(text, input_tokens, output_tokens, finish)
                return
            if text:
                yield GenerationChunk(text)

    async def embed(self, model: str, texts: Sequence[str]) -> list[list[float]]:
        return await embed_texts(
            self.endpoints, self._triton_model(self.embedding_models, model), texts
        )

    async def list_models(self) -> list[ModelStatus]:
        statuses = []
        for kind, models in (("llm", self.llm_models), ("embedding", self.embedding_models)):
            for public, triton_model in models.items():
                statuses.append(
                    ModelStatus(
                        public,
                        kind,
                        await self._ready(triton_model),
                        "triton",
                        tuple(self.endpoints.endpoints),
                    )
                )
        return statuses

    async def _ready(self, triton_model: str) -> bool:
        try:
            answer = await self.endpoints.unary(
                lambda stub: stub.ModelReady(
                    service_pb2.ModelReadyRequest(name=triton_model), timeout=2
                )
            )
        except Exception:  # noqa: BLE001 - an unreachable model is simply not ready
            return False
        return answer.ready

    @staticmethod
    def _triton_model(models: dict[str, str], model: str) -> str:
        if model in models:
            return models[model]
        raise NotFoundError(
            f"model '{model}' is not served; available: {', '.join(sorted(models))}",
            reason="MODEL_NOT_FOUND",
        )


def _count(outputs: dict, name: str, previous: int | None) -> int | None:
    array = outputs.get(name)
    return previous if array is None or array.size == 0 else int(array.reshape(-1)[0])


def _stream_error(message: str, model: str) -> Exception:
    # Triton reports a bad request inside the stream, not as a status code.
    if "input" in message and ("unexpected" in message or "expected" in message):
        return InvalidArgumentError(f"Triton model '{model}' rejected the request: {message}")
    return UnavailableError(f"Triton model '{model}' failed: {message}", reason="TRITON_ERROR")
