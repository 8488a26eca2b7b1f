"""Inference rules: validate a request, apply the chat template, stream from the backend, cancel."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace

from inference.chat_templates import ChatTemplate
from llmops_core import (
    Embeddings,
    GenerationChunk,
    GenerationRequest,
    InferenceBackend,
    ModelStatus,
    Sampling,
    current_trace_id,
    require_range,
)
from llmops_core.errors import InvalidArgumentError, NotFoundError, ResourceExhaustedError

MAX_STOP_WORDS = 16
MAX_STOP_WORD_CHARS = 64
MAX_EMBED_TEXTS = 256
MAX_EMBED_TEXT_CHARS = 8000
ROLES = ("system", "user", "assistant")


@dataclass(frozen=True)
class Delta:
    """A piece of a streamed answer; the last one (``finish_reason`` set) carries usage and timing."""

    text: str
    model: str
    endpoint: str = ""
    finish_reason: str | None = None  # "stop" | "length" | "cancelled" on the last piece
    input_tokens: int = 0
    output_tokens: int = 0
    time_to_first_token_ms: float = 0.0
    duration_ms: float = 0.0


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
    endpoint: str = ""


class _Generation:
    """A generation in progress: what it produced so far, and how CancelGeneration stops it."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.task = asyncio.current_task()
        self.started = time.perf_counter()
        self.first_token = 0.0
        self.input_tokens = self.output_tokens = 0
        self.endpoint = ""
        self.cancel_requested = False
        self.waiting = False  # awaiting the backend's next chunk

    def cancel(self) -> None:
        self.cancel_requested = True
        # Interrupt the wait for the next chunk (the backend's stream to the model closes
        # on the way out). While a chunk is being sent, the loop sees the flag before it
        # asks for the next one; cancelling then would cut the send instead.
        if self.waiting:
            self.task.cancel()

    def delta(self, chunk: GenerationChunk) -> Delta:
        if chunk.text and not self.first_token:
            self.first_token = time.perf_counter()
        self.input_tokens = chunk.input_tokens or self.input_tokens
        self.output_tokens = chunk.output_tokens or self.output_tokens
        # A backend may name the endpoint serving the request (not every backend has one).
        self.endpoint = chunk.endpoint or self.endpoint
        if chunk.finish_reason:
            return self.last(chunk.text, chunk.finish_reason)
        return Delta(chunk.text, self.model, self.endpoint)

    def last(self, text: str, finish_reason: str) -> Delta:
        now = time.perf_counter()
        return Delta(
            text,
            self.model,
            self.endpoint,
            finish_reason,
            self.input_tokens,
            self.output_tokens,
            ((self.first_token or now) - self.started) * 1000,
            (now - self.started) * 1000,
        )


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
        max_concurrent_generations: int = 0,
    ) -> None:
        self.backend = backend
        self.default_model = default_model
        self.default_embedding_model = default_embedding_model
        self.template = template
        self.max_prompt_chars = max_prompt_chars
        self.max_tokens_limit = max_tokens_limit
        self.max_concurrent_generations = max_concurrent_generations
        self._active = 0  # generations running in this process
        # request_id -> its generations running in this process (ids need not be unique).
        self._running: dict[str, list[_Generation]] = {}

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
        # Without an id of its own a request is known by its trace id, which the caller
        # has (it sent it, or reads it from the response metadata) to cancel with.
        request_id = request_id or current_trace_id() or ""
        return GenerationRequest(model or self.default_model, prompt, sampling, request_id)

    async def stream(self, request: GenerationRequest) -> AsyncIterator[Delta]:
        """The backend's answer as deltas; ends early, with finish "cancelled", on ``cancel``.

        When the caller goes away or its deadline passes, the task running this is
        cancelled: that propagates into the backend, which closes its model stream.
        """
        self._admit()
        generation = self._register(request)
        chunks = self.backend.generate_stream(request)
        try:
            while not generation.cancel_requested:
                generation.waiting = True
                try:
                    chunk = await anext(chunks)
                except StopAsyncIteration:
                    return
                except asyncio.CancelledError:
                    # Ours (CancelGeneration) ends the answer; any other cancellation (the
                    # caller left, the deadline passed) ends the call.
                    if not generation.cancel_requested or generation.task.uncancel() > 0:
                        raise
                    break
                finally:
                    generation.waiting = False
                delta = generation.delta(chunk)
                yield delta
                if delta.finish_reason:
                    return
            yield generation.last("", "cancelled")
        finally:
            self._active -= 1
            self._unregister(request.request_id, generation)
            await chunks.aclose()

    async def complete(self, request: GenerationRequest) -> Completion:
        parts: list[str] = []
        last = Delta("", request.model)
        async for delta in self.stream(request):
            parts.append(delta.text)
            last = delta
        return Completion(
            text="".join(parts),
            model=request.model,
            input_tokens=last.input_tokens,
            output_tokens=last.output_tokens,
            finish_reason=last.finish_reason or "stop",
            time_to_first_token_ms=last.time_to_first_token_ms,
            duration_ms=last.duration_ms,
            endpoint=last.endpoint,
        )

    def cancel(self, request_id: str) -> None:
        """Cancel every running generation with ``request_id`` (in this process)."""
        if not request_id:
            raise InvalidArgumentError(
                "request_id is empty; send the request_id (or trace id) of the generation",
                reason="EMPTY_FIELD",
            )
        running = self._running.get(request_id)
        if not running:
            raise NotFoundError(
                f"no generation with request_id '{request_id[:80]}' is running on this "
                "inference server (it may have finished already)",
                reason="GENERATION_NOT_FOUND",
            )
        for generation in running:
            generation.cancel()

    def _admit(self) -> None:
        limit = self.max_concurrent_generations
        if limit and self._active >= limit:
            raise ResourceExhaustedError(
                f"{self._active} generations are running on this inference server, its limit "
                f"(inference.max_concurrent_generations = {limit}); retry with backoff, or "
                "raise the limit or add replicas",
                reason="TOO_MANY_GENERATIONS",
            )
        self._active += 1

    def _register(self, request: GenerationRequest) -> _Generation:
        generation = _Generation(request.model)
        if request.request_id:
            self._running.setdefault(request.request_id, []).append(generation)
        return generation

    def _unregister(self, request_id: str, generation: _Generation) -> None:
        others = [g for g in self._running.get(request_id, ()) if g is not generation]
        if others:
            self._running[request_id] = others
        else:
            self._running.pop(request_id, None)

    async def embed(self, model: str, texts: Sequence[str]) -> Embeddings:
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
                    f"sampling.{field} has {len(words)} entries; the limit is {MAX_STOP_WORDS}",
                    reason="TOO_MANY_WORDS",
                    metadata={"field": f"sampling.{field}"},
                )
            for index, word in enumerate(words):
                if not word or len(word) > MAX_STOP_WORD_CHARS:
                    raise InvalidArgumentError(
                        f"sampling.{field}[{index}] has {len(word)} characters; entries must "
                        f"hold 1 to {MAX_STOP_WORD_CHARS} characters",
                        reason="WORD_LENGTH",
                        metadata={"field": f"sampling.{field}"},
                    )
