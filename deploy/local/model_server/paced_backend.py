"""A model that writes tokens on a clock, under the `ensemble` contract: serving without compute.

It answers like the LLM (the same tensors, streaming or not, token counts, cancellation)
but spends no CPU on a model: the first token comes `first_token_ms` after the request
arrived, then one every `token_ms`, for every request at once, as a GPU engine with
in-flight batching times them. Benchmarks use it to measure what the platform adds on top
of Triton at any concurrency, which the CPU LLM (one generation at a time, on the same
cores as everything else) hides behind its queue. `serve.py --paced-model NAME` hosts it.

The answer is " 1, 2, 3, ..." up to max_tokens; input tokens are counted as words.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from ensemble_backend import (
    StopFlag,
    accepted,
    end_answer,
    inference_response,
    model_parameters,
)
from ensemble_model import EnsembleRequest, response_tensors
from llama_engine import Chunk


class TritonPythonModel:
    def initialize(self, args: dict[str, str]) -> None:
        params = model_parameters(args)
        self._first_token_s = float(params["first_token_ms"]) / 1000
        self._token_s = float(params["token_ms"]) / 1000
        self._stop_file = Path(params["stop_file"])

    def execute(self, requests: list[Any]) -> None:
        arrived = time.monotonic()
        for parsed, sender in accepted(requests):
            threading.Thread(
                target=self._answer, args=(parsed, sender, arrived), daemon=True
            ).start()

    def _answer(self, request: EnsembleRequest, sender: Any, arrived: float) -> None:
        stop = StopFlag(sender, self._stop_file)
        n_in, total = len(request.prompt.split()), request.params.max_tokens
        parts = [] if request.exclude_input else [request.prompt]
        chunk = Chunk("", n_in, 0)
        for i in range(total):
            # Due times are fixed from arrival, so a late wake-up does not delay the rest.
            due = arrived + self._first_token_s + i * self._token_s
            time.sleep(max(0.0, due - time.monotonic()))
            if stop.is_set():
                break
            finish = "length" if i + 1 == total else None
            chunk = Chunk(f" {i + 1},", n_in, i + 1, finish)
            parts.append(chunk.text)
            if request.stream:
                sender.send(inference_response(response_tensors(request, chunk.text, chunk)))
        complete = chunk.finish_reason is not None
        if complete and not request.stream:
            sender.send(inference_response(response_tensors(request, "".join(parts), chunk)))
        end_answer(sender, complete=complete)
