"""InferenceBackend plugin ``triton``: generation and embeddings on NVIDIA Triton.

It speaks only the KServe v2 gRPC protocol with TensorRT-LLM's tensor names, so the
same plugin drives the local CPU model server and a TensorRT-LLM engine served
with tensor parallelism; only ``endpoints``, ``flavour`` and model names differ.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Sequence
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field
from tritonclient.grpc import service_pb2

from llmops_core import (
    Embeddings,
    EndpointHealth,
    GenerationChunk,
    GenerationRequest,
    Health,
    ModelStatus,
    PluginContext,
    Sampling,
)
from llmops_core.errors import InvalidArgumentError, NotFoundError, UnavailableError
from llmops_triton._endpoints import EndpointPolicy, TritonEndpoints
from llmops_triton._flavours import generation_inputs, unsupported
from llmops_triton._tensors import generation_outputs, infer_request, is_final
from llmops_triton.embedder import OUTPUT_NAME as EMBEDDING_OUTPUT
from llmops_triton.embedder import embed_texts


class TritonBackendConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    endpoints: list[str] | None = None  # default: triton.endpoints
    flavour: Literal["ensemble", "tensorrt_llm_bls", "llmapi"] = "ensemble"
    # Public model name -> Triton model name. Default: {inference.default_model: triton.llm_model}.
    llm_models: dict[str, str] = Field(default_factory=dict)
    embedding_models: dict[str, str] = Field(default_factory=dict)
    # The engines' build settings, which Triton does not report: the widest beam
    # (TensorRT-LLM's max_beam_width; the local server serves 1) and the context length
    # (the local server's --n-ctx; 0: unknown).
    max_beam_width: int = Field(default=1, ge=1, le=64)
    max_context_tokens: int = Field(default=2048, ge=0)
    # Endpoint balancing and failover (see _endpoints.py).
    cooldown_seconds: float = Field(default=1.0, gt=0)
    max_cooldown_seconds: float = Field(default=30.0, gt=0)
    retry_rounds: int = Field(default=1, ge=0, le=10)
    retry_backoff_seconds: float = Field(default=0.1, ge=0)
    probe_timeout_seconds: float = Field(default=1.0, gt=0)

    def policy(self) -> EndpointPolicy:
        return EndpointPolicy(
            cooldown_s=self.cooldown_seconds,
            max_cooldown_s=self.max_cooldown_seconds,
            retry_rounds=self.retry_rounds,
            backoff_s=self.retry_backoff_seconds,
            probe_timeout_s=self.probe_timeout_seconds,
        )


class TritonBackend:
    name: ClassVar[str] = "triton"
    Config: ClassVar[type[BaseModel]] = TritonBackendConfig

    def __init__(self, config: TritonBackendConfig, context: PluginContext) -> None:
        settings = context.settings
        self.flavour = config.flavour
        self.max_beam_width = config.max_beam_width
        self.max_context_tokens = config.max_context_tokens
        self.endpoints = TritonEndpoints(
            config.endpoints or settings.triton.endpoints, config.policy()
        )
        self.llm_models = config.llm_models or {
            settings.inference.default_model: settings.triton.llm_model
        }
        self.embedding_models = config.embedding_models or {
            settings.triton.embedding_model: settings.triton.embedding_model
        }
        self._dimensions: dict[str, int] = {}

    async def health(self) -> Health:
        states = await self.endpoints.probe_all()
        ready = [h.address for h in states if h.healthy]
        if ready:
            return Health(True, f"triton ready at {', '.join(ready)}")
        return Health(False, "; ".join(f"{h.address}: {h.last_error}" for h in states))

    async def close(self) -> None:
        await self.endpoints.close()

    async def generate_stream(self, request: GenerationRequest) -> AsyncIterator[GenerationChunk]:
        triton_model = self._triton_model(self.llm_models, request.model)
        self._check_supported(request.model, request.sampling)
        inputs = generation_inputs(self.flavour, request.prompt, request.sampling, stream=True)
        message = infer_request(
            triton_model, inputs, request_id=request.request_id, final_response=True
        )
        input_tokens = output_tokens = None
        endpoint = ""
        responses = self.endpoints.stream(
            lambda stub, timeout: stub.ModelStreamInfer(iter([message]), timeout=timeout),
            not_here=_model_not_loaded,
        )
        async with contextlib.aclosing(responses):
            async for endpoint, response in responses:
                if response.error_message:
                    raise _model_error(response.error_message, request.model, endpoint)
                outputs = generation_outputs(response.infer_response)
                text = outputs.text
                input_tokens = _newer(outputs.input_tokens, input_tokens)
                output_tokens = _newer(outputs.output_tokens, output_tokens)
                if is_final(response.infer_response):
                    finish = self._finish(request.sampling, input_tokens, output_tokens)
                    yield GenerationChunk(text, input_tokens, output_tokens, finish, endpoint)
                    return
                if text:
                    yield GenerationChunk(text, input_tokens, output_tokens, None, endpoint)
        # Triton closed the stream without its final response: never pass that off as a
        # complete answer.
        raise UnavailableError(
            f"Triton at {endpoint or 'the endpoint'} ended the answer of model "
            f"'{request.model}' without its final response; the answer may be incomplete",
            reason="TRITON_STREAM_BROKEN",
        )

    async def embed(self, model: str, texts: Sequence[str]) -> Embeddings:
        return await embed_texts(
            self.endpoints, self._triton_model(self.embedding_models, model), texts
        )

    async def list_models(self) -> list[ModelStatus]:
        models = [("llm", public, triton) for public, triton in self.llm_models.items()]
        models += [
            ("embedding", public, triton) for public, triton in self.embedding_models.items()
        ]
        # Every readiness snapshot first, then any metadata call: a metadata call in flight
        # while another model's snapshot is taken would show there as a call in flight.
        snapshots = await asyncio.gather(*(self.endpoints.readiness(m[2]) for m in models))
        return [
            await self._status(*model, answers)
            for model, answers in zip(models, snapshots, strict=True)
        ]

    async def _status(
        self,
        kind: str,
        public: str,
        triton_model: str,
        answers: list[tuple[EndpointHealth, bool, str]],
    ) -> ModelStatus:
        ready = any(r for _, r, _ in answers)
        return ModelStatus(
            public,
            kind,
            ready,
            "triton",
            tuple(self.endpoints.endpoints),
            backend_model=triton_model,
            endpoint_status=tuple(
                dataclasses.replace(health, healthy=r, last_error=why) for health, r, why in answers
            ),
            max_context_tokens=self.max_context_tokens if kind == "llm" else 0,
            dimension=await self._dimension(triton_model) if kind == "embedding" and ready else 0,
        )

    async def _dimension(self, triton_model: str) -> int:
        """Vector length from the model's metadata (output shape [-1, dimension])."""
        if triton_model not in self._dimensions:
            try:
                metadata = await self.endpoints.unary(
                    lambda stub, timeout: stub.ModelMetadata(
                        service_pb2.ModelMetadataRequest(name=triton_model), timeout=timeout
                    )
                )
            except Exception:  # noqa: BLE001 - unknown until the model answers
                return 0
            # The vectors' output, by name: the model may return others (token counts).
            output = next((o for o in metadata.outputs if o.name == EMBEDDING_OUTPUT), None)
            shape = output.shape if output is not None else []
            self._dimensions[triton_model] = int(shape[-1]) if shape and shape[-1] > 0 else 0
        return self._dimensions[triton_model]

    def _check_supported(self, model: str, sampling: Sampling) -> None:
        if sampling.beam_width > self.max_beam_width:
            raise InvalidArgumentError(
                f"sampling.beam_width is {sampling.beam_width}; model '{model}' is served with "
                f"beam widths up to {self.max_beam_width}",
                reason="BEAM_WIDTH_UNSUPPORTED",
                metadata={"field": "sampling.beam_width"},
            )
        fields = unsupported(self.flavour, sampling)
        if fields:
            raise InvalidArgumentError(
                f"model '{model}' (Triton flavour {self.flavour}) does not take "
                f"{', '.join(fields)}; leave them unset",
                reason="SAMPLING_UNSUPPORTED",
            )

    def _finish(
        self, sampling: Sampling, input_tokens: int | None, output_tokens: int | None
    ) -> str:
        if output_tokens is None:
            return "stop"
        if output_tokens >= sampling.max_tokens:
            return "length"
        if (
            self.max_context_tokens
            and (input_tokens or 0) + output_tokens >= self.max_context_tokens
        ):
            return "length"
        return "stop"

    @staticmethod
    def _triton_model(models: dict[str, str], model: str) -> str:
        if model in models:
            return models[model]
        raise NotFoundError(
            f"model '{model}' is not served; available: {', '.join(sorted(models))}",
            reason="MODEL_NOT_FOUND",
        )


def _newer(count: int | None, previous: int | None) -> int | None:
    return previous if count is None else count


# How Triton says it does not serve a model ("Request for unknown model: 'x' is not found").
_UNKNOWN_MODEL = "unknown model"


def _model_not_loaded(response: service_pb2.ModelStreamInferResponse) -> str | None:
    """Triton's answer for a model it does not serve (another endpoint may): why, or None."""
    message = response.error_message
    return message if _UNKNOWN_MODEL in message else None


# Triton's own checks of a request's tensors (names, types, shapes).
_TRITON_INPUT_CHECKS = ("unexpected inference input", "inference input", "unexpected shape")


def _model_error(message: str, model: str, endpoint: str) -> Exception:
    """An error response inside the stream: Triton reports a bad request there, not as a status."""
    lines = message.strip().splitlines()
    last = lines[-1].strip() if lines else "no message"
    # The local model server's refusals read "GenerationError: <why>".
    if "GenerationError:" in last:
        why = last.split("GenerationError:", 1)[1].strip()
        return InvalidArgumentError(
            f"model '{model}' refused the request: {why}", reason="MODEL_REJECTED_REQUEST"
        )
    if _UNKNOWN_MODEL in last:
        return UnavailableError(
            f"model '{model}' is not loaded on Triton at {endpoint} ({last}); check the "
            "triton backend's llm_models and the model repository",
            reason="MODEL_NOT_LOADED",
        )
    if any(check in last for check in _TRITON_INPUT_CHECKS):
        return InvalidArgumentError(
            f"Triton at {endpoint} rejected the request to model '{model}': {last} "
            "(does the backend's flavour match the deployed model?)",
            reason="TRITON_REJECTED_INPUT",
        )
    return UnavailableError(
        f"model '{model}' failed on Triton at {endpoint}: {last}", reason="TRITON_ERROR"
    )
