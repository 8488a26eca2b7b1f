"""Inference rules: validate a request, apply the chat template, stream from the backend."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace

from inference.chat_templates import ChatTemplate
from llmops_core import (
    GenerationChunk,
    GenerationRequest,
    InferenceBackend,
    ModelStatus,
    Sampling,
    require_range,
)
from llmops_core.errors import InvalidArgumentError, ResourceExhaustedError

MAX_STOP_WORDS = 16
MAX_STOP_WORD_CHARS = 64
MAX_EMBED_TEXTS = 256
MAX_EMBED_TEXT_CHARS = 8000
ROLES = ("system", "user", "assistant")


@dataclass(frozen=True)
class Completion:
    """A finished generation."""

    text: str
    model: str
    input_tokens: int
    output_tokens: int
    finish_reason: str
    time_to_first_token_ms: float
    duration_ms: float


class Inference:
    def __init__(
        self,
        backend: InferenceBackend,
        *,
        default_model: str,
        default_embedding_model: str,
        template: ChatTemplate,
        max_prompt_chars: int,
        max_tokens_limit: int,
    ) -> None:
        self.backend = backend
        self.default_model = default_model
        self.default_embedding_model = default_embedding_model
        self.template = template
        self.max_prompt_chars = max_prompt_chars
        self.max_tokens_limit = max_tokens_limit

    def prepare(
        self,
        model: str,
        prompt: str,
        messages: Sequence[tuple[str, str]],
        sampling: Sampling,
        request_id: str = "",
    ) -> GenerationRequest:
        """Validate and turn a prompt or chat messages into a backend request."""
        if bool(prompt) == bool(messages):
            raise InvalidArgumentError(
                "send exactly one of prompt or messages", reason="PROMPT_OR_MESSAGES"
            )
        self._check_sampling(sampling)  # the caller's own values, before the template adds a stop
        if messages:
            for index, (role, content) in enumerate(messages):
                if role not in ROLES:
                    raise InvalidArgumentError(
                        f"messages[{index}].role is '{role}'; use one of {', '.join(ROLES)}"
                    )
                if not content.strip():
                    raise InvalidArgumentError(
                        f"messages[{index}].content is empty", reason="EMPTY_FIELD"
                    )
            prompt = self.template.render(messages)
            sampling = replace(
                sampling, stop=tuple(dict.fromkeys(sampling.stop + self.template.stop))
            )
        if not prompt.strip():
            raise InvalidArgumentError("prompt is empty; send some text", reason="EMPTY_FIELD")
        if len(prompt) > self.max_prompt_chars:
            raise InvalidArgumentError(
                f"the prompt has {len(prompt)} characters; the limit is {self.max_prompt_chars}",
                reason="PROMPT_TOO_LONG",
            )
        return GenerationRequest(model or self.default_model, prompt, sampling, request_id)

    async def stream(self, request: GenerationRequest) -> AsyncIterator[GenerationChunk]:
        async for chunk in self.backend.generate_stream(request):
            yield chunk

    async def complete(self, request: GenerationRequest) -> Completion:
        started = time.perf_counter()
        first = None
        parts: list[str] = []
        last = GenerationChunk("")
        async for chunk in self.backend.generate_stream(request):
            if chunk.text and first is None:
                first = time.perf_counter()
            parts.append(chunk.text)
            last = chunk
        ended = time.perf_counter()
        return Completion(
            text="".join(parts),
            model=request.model,
            input_tokens=last.input_tokens or 0,
            output_tokens=last.output_tokens or 0,
            finish_reason=last.finish_reason or "stop",
            time_to_first_token_ms=((first or ended) - started) * 1000,
            duration_ms=(ended - started) * 1000,
        )

    async def embed(self, model: str, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            raise InvalidArgumentError(
                "texts is empty; send at least one text", reason="EMPTY_FIELD"
            )
        if len(texts) > MAX_EMBED_TEXTS:
            raise ResourceExhaustedError(
                f"{len(texts)} texts; the limit is {MAX_EMBED_TEXTS} a request"
            )
        for index, text in enumerate(texts):
            if not text.strip() or len(text) > MAX_EMBED_TEXT_CHARS:
                raise InvalidArgumentError(
                    f"texts[{index}] must hold 1 to {MAX_EMBED_TEXT_CHARS} characters"
                )
        return await self.backend.embed(model, texts)

    async def models(self) -> list[ModelStatus]:
        return await self.backend.list_models()

    def _check_sampling(self, s: Sampling) -> None:
        require_range(s.max_tokens, "sampling.max_tokens", 1, self.max_tokens_limit)
        require_range(s.temperature, "sampling.temperature", 0.0, 2.0)
        require_range(s.top_p, "sampling.top_p", 0.0, 1.0)
        require_range(s.top_k, "sampling.top_k", 0, 1000)
        require_range(s.repetition_penalty, "sampling.repetition_penalty", 0.01, 10.0)
        require_range(s.presence_penalty, "sampling.presence_penalty", -2.0, 2.0)
        require_range(s.frequency_penalty, "sampling.frequency_penalty", -2.0, 2.0)
        require_range(s.beam_width, "sampling.beam_width", 1, 8)
        for field, words in (("stop", s.stop), ("bad_words", s.bad_words)):
            if len(words) > MAX_STOP_WORDS:
                raise InvalidArgumentError(
                    f"sampling.{field} has {len(words)} entries; the limit is {MAX_STOP_WORDS}"
                )
            for word in words:
                if not word or len(word) > MAX_STOP_WORD_CHARS:
                    raise InvalidArgumentError(
                        f"sampling.{field} entries must hold 1 to {MAX_STOP_WORD_CHARS} characters"
                    )
