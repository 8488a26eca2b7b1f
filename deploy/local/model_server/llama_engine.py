"""Text generation with a GGUF model through llama.cpp, one request at a time.

The engine knows nothing about Triton: it turns a prompt and sampling settings into
a stream of text chunks. A llama.cpp context holds one KV cache and is not thread-safe,
so every generation runs on the engine's single worker thread; requests queue there in
arrival order and tokens of two requests can never interleave.
"""

from __future__ import annotations

import codecs
import concurrent.futures
import dataclasses
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Protocol

import llama_cpp
import numpy as np

# Penalties look back this many tokens (llama.cpp's own default window).
_PENALTY_WINDOW = 64


class Cancelled(Protocol):
    """Whether the caller gave up; asked before every token (a threading.Event fits)."""

    def is_set(self) -> bool: ...


class GenerationError(ValueError):
    """A request the engine cannot serve (prompt too long, unsupported setting)."""


@dataclasses.dataclass(frozen=True)
class SamplingParams:
    """Sampling settings, with TensorRT-LLM's meaning of the zero values.

    top_k == 0 and top_p == 0 (both unset) select greedy decoding, as in TensorRT-LLM;
    top_k == 0 alone means no top-k cut, top_p == 0 alone means no nucleus cut.
    """

    max_tokens: int
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 0.0
    repetition_penalty: float = 1.0
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    min_tokens: int = 0
    seed: int | None = None
    stop_words: tuple[str, ...] = ()
    bad_words: tuple[str, ...] = ()
    end_id: int | None = None


@dataclasses.dataclass(frozen=True)
class Chunk:
    """New text since the previous chunk and the running token counts."""

    text: str
    num_input_tokens: int
    num_output_tokens: int
    finish_reason: str | None = None  # "stop" (end token or stop word) or "length"


class LlamaEngine:
    """A loaded GGUF model plus the single thread allowed to use it."""

    def __init__(self, model_path: Path, *, n_ctx: int, n_threads: int) -> None:
        self._llm = llama_cpp.Llama(
            model_path=str(model_path),
            n_ctx=n_ctx,
            n_threads=n_threads,
            n_threads_batch=n_threads,
            last_n_tokens_size=_PENALTY_WINDOW,
            verbose=False,
        )
        self._n_ctx = n_ctx
        vocab = self._llm._model.vocab  # the public wrapper has no end-of-generation test
        self._end_tokens = frozenset(
            t for t in range(self._llm.n_vocab()) if llama_cpp.llama_vocab_is_eog(vocab, t)
        )
        self._worker = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="llama"
        )
        self._closing = threading.Event()
        # The first decode pages the weights in and sizes buffers (~1 s); pay it now.
        for _ in self.stream("Hello", SamplingParams(max_tokens=2), threading.Event()):
            pass

    @property
    def worker(self) -> concurrent.futures.Executor:
        """The one thread that runs generations; submit `stream` work here."""
        return self._worker

    def close(self) -> None:
        self._closing.set()  # ends a running generation at its next token
        self._worker.shutdown(wait=True, cancel_futures=True)
        self._llm.close()

    def stream(self, prompt: str, params: SamplingParams, cancelled: Cancelled) -> Iterator[Chunk]:
        """Generate a raw completion of `prompt`; call only from `worker`.

        Stop words end the text and are not part of it. A chunk is held back while its
        tail could still become a stop word, so no partial stop word ever leaves.
        """
        prompt_tokens = self._tokenize_prompt(prompt)
        n_in = len(prompt_tokens)
        if n_in >= self._n_ctx:
            raise GenerationError(f"prompt has {n_in} tokens; the context holds {self._n_ctx}")
        budget = min(params.max_tokens, self._n_ctx - n_in)
        end_tokens = self._end_tokens | ({params.end_id} if params.end_id is not None else set())
        stop_sequences = [self._tokenize_word(w) for w in params.stop_words]
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pending = ""  # decoded text not yet sent
        generated: list[int] = []

        # llama.cpp seeds are 32-bit (TensorRT-LLM's are 64-bit); its default means "random".
        seed = llama_cpp.LLAMA_DEFAULT_SEED if params.seed is None else params.seed & 0xFFFFFFFF
        self._llm.set_seed(seed)
        tokens = self._llm.generate(
            prompt_tokens,
            reset=True,
            logits_processor=self._logits_processor(params, n_in),
            **_llama_sampling(params),
        )
        finish = "length"
        try:
            for token in tokens:
                if cancelled.is_set() or self._closing.is_set():
                    return
                if token in end_tokens:
                    finish = "stop"
                    break
                generated.append(token)
                pending += decoder.decode(self._llm.detokenize([token]))
                cut = _find_stop(pending, params.stop_words)
                if cut is not None or _ends_with_any(generated, stop_sequences):
                    pending = pending[:cut] if cut is not None else pending
                    finish = "stop"
                    break
                if len(generated) >= budget:
                    break
                safe = len(pending) - _stop_prefix_len(pending, params.stop_words)
                if safe > 0:
                    yield Chunk(pending[:safe], n_in, len(generated))
                    pending = pending[safe:]
        finally:
            tokens.close()
        if finish == "length":
            pending += decoder.decode(b"", final=True)
        yield Chunk(pending, n_in, len(generated), finish)

    def _tokenize_prompt(self, text: str) -> list[int]:
        # special=True: the caller's chat template markers (<|im_start|>) are tokens.
        return self._llm.tokenize(text.encode("utf-8"), add_bos=True, special=True)

    def _tokenize_word(self, word: str) -> list[int]:
        return self._llm.tokenize(word.encode("utf-8"), add_bos=False, special=True)

    def _logits_processor(
        self, params: SamplingParams, n_in: int
    ) -> llama_cpp.LogitsProcessorList | None:
        steps: list[Callable[[np.ndarray, np.ndarray], np.ndarray]] = []
        if params.bad_words:
            steps.append(_ban_sequences([self._tokenize_word(w) for w in params.bad_words]))
        if params.min_tokens > 0:
            steps.append(_hold_end(sorted(self._end_tokens), params.min_tokens, n_in))
        return llama_cpp.LogitsProcessorList(steps) if steps else None


def _llama_sampling(params: SamplingParams) -> dict[str, float | int]:
    greedy = params.temperature <= 0.0 or (params.top_k == 0 and params.top_p == 0.0)
    return {
        "temp": 0.0 if greedy else params.temperature,
        "top_k": params.top_k,  # llama.cpp: k <= 0 keeps the whole vocabulary
        "top_p": params.top_p if params.top_p > 0.0 else 1.0,
        "min_p": 0.0,
        "typical_p": 1.0,
        "repeat_penalty": params.repetition_penalty,
        "presence_penalty": params.presence_penalty,
        "frequency_penalty": params.frequency_penalty,
    }


def _ban_sequences(
    sequences: Sequence[Sequence[int]],
) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """TensorRT-LLM's bad words: forbid the token that would complete a sequence."""
    rules = [(tuple(s[:-1]), s[-1]) for s in sequences if s]

    def ban(input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        for prefix, last in rules:
            if not prefix or tuple(input_ids[-len(prefix) :]) == prefix:
                scores[last] = -np.inf
        return scores

    return ban


def _hold_end(
    end_tokens: Sequence[int], min_tokens: int, n_in: int
) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    ids = np.asarray(end_tokens, dtype=np.intp)

    def hold(input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        if len(input_ids) - n_in < min_tokens:
            scores[ids] = -np.inf
        return scores

    return hold


def _find_stop(text: str, stop_words: Sequence[str]) -> int | None:
    hits = [i for i in (text.find(w) for w in stop_words if w) if i >= 0]
    return min(hits) if hits else None


def _stop_prefix_len(text: str, stop_words: Sequence[str]) -> int:
    """Length of the longest tail of `text` that starts some stop word."""
    longest = 0
    for word in stop_words:
        for n in range(min(len(word) - 1, len(text)), longest, -1):
            if word.startswith(text[-n:]):
                longest = n
                break
    return longest


def _ends_with_any(tokens: Sequence[int], sequences: Sequence[Sequence[int]]) -> bool:
    # Token-level match, as TensorRT-LLM does: catches stop words that are special
    # tokens (e.g. "<|im_end|>" when it is not the end token), which render as no text.
    return any(
        s and len(tokens) >= len(s) and list(tokens[-len(s) :]) == list(s) for s in sequences
    )
