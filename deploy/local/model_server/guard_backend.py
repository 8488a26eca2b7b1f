"""`guard` (guard_model.py) as a Triton Python-backend model.

serve.py writes a model repository whose `<name>/1/model.py` imports this class; the
config.pbtxt parameters name the head artifacts and the static encoder folder.
"""

from __future__ import annotations

from typing import Any

from batched_backend import Tensors, answer_each, inputs_of, response
from batched_model import model_parameters
from guard_model import GuardModel, texts_of


class TritonPythonModel:
    """The texts of every request in a batch are scored in one feature pass."""

    def initialize(self, args: dict[str, str]) -> None:
        self._model = GuardModel.from_parameters(model_parameters(args))
        self._model.analyze(["warm up"])  # the first call builds caches; keep it out of requests

    def execute(self, requests: list[Any]) -> list[Any]:
        try:
            texts = [texts_of(inputs_of(r)["text"]) for r in requests]
            merged = self._model.analyze([t for batch in texts for t in batch])
        except Exception:  # noqa: BLE001 - find the request at fault: each alone
            return answer_each(requests, self._analyze)
        responses, start = [], 0
        for batch in texts:
            end = start + len(batch)
            responses.append(response({k: v[start:end] for k, v in merged.items()}))
            start = end
        return responses

    def _analyze(self, inputs: Tensors) -> Tensors:
        return self._model.analyze(texts_of(inputs["text"]))
