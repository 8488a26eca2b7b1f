"""`groundedness` (groundedness_model.py) as a Triton Python-backend model.

serve.py writes a model repository whose `<name>/1/model.py` imports this class; the
config.pbtxt parameter `artifact` names the scorer's weights.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from batched_backend import answer_each
from batched_model import model_parameters
from groundedness_model import GroundednessModel


class TritonPythonModel:
    """Each request of a batch is scored alone, so a bad one fails alone."""

    def initialize(self, args: dict[str, str]) -> None:
        self._model = GroundednessModel(Path(model_parameters(args)["artifact"]))
        # The first call fills the scorer's caches; keep that out of requests.
        self._model.check("Paris is in France.", ["Paris is the capital of France."], "")

    def execute(self, requests: list[Any]) -> list[Any]:
        return answer_each(requests, lambda inputs: self._model.score_batch(**inputs))
