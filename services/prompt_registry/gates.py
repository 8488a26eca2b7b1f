"""Promotion gates: which evaluation run lets a version onto a gated label.

The registry reads runs through ``EvaluationRuns`` (MonitoringService.GetEvaluationRun
in a deployment, see ``evaluation_runs.py``) and decides here, without I/O, whether a
run admits a version.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from llmops_core import PromotionGateRecord
from llmops_core.errors import FailedPreconditionError


@dataclass(frozen=True)
class EvaluationRunFacts:
    """What a gate looks at in an evaluation run."""

    run_id: str
    prompt_name: str
    version: int
    dataset: str = ""  # "name@revision"
    succeeded: bool = False
    passed: bool = False
    metrics: Mapping[str, float] = field(default_factory=dict)


class EvaluationRuns(Protocol):
    """Reads evaluation runs."""

    async def get(self, run_id: str) -> EvaluationRunFacts:
        """The run ``run_id``; FailedPreconditionError if it does not exist or runs cannot
        be read in this deployment, UnavailableError if their service is down."""
        ...


class NoEvaluationRuns:
    """For a registry without an evaluation service: every gated move is refused."""

    async def get(self, run_id: str) -> EvaluationRunFacts:
        raise FailedPreconditionError(
            f"evaluation run '{run_id}' cannot be checked: evaluation runs are not available "
            "yet in this deployment, so a gated label cannot move; remove the label's gate "
            "(SetPromotionGate without a gate) to move it without an evaluation",
            reason="EVALUATION_RUNS_UNAVAILABLE",
        )


def describe(gate: PromotionGateRecord) -> str:
    what = f"{gate.metric} >= {gate.min_score:g}" if gate.metric else "a passed run"
    return what + (f" on dataset {gate.dataset}" if gate.dataset else "")


def admission_problem(
    gate: PromotionGateRecord, run: EvaluationRunFacts, name: str, version: int
) -> str:
    """Why ``run`` does not admit ``name``@``version`` under ``gate``; "" if it does."""
    if run.prompt_name != name or run.version != version:
        return f"run '{run.run_id}' evaluated {run.prompt_name}@{run.version}, not {name}@{version}"
    if not run.succeeded:
        return f"run '{run.run_id}' has not succeeded (it is still running or failed)"
    if gate.dataset and not (
        run.dataset == gate.dataset or run.dataset.startswith(gate.dataset + "@")
    ):
        return f"run '{run.run_id}' used dataset '{run.dataset}', the gate needs '{gate.dataset}'"
    if not gate.metric:
        return "" if run.passed else f"run '{run.run_id}' did not pass its thresholds"
    score = run.metrics.get(gate.metric)
    if score is None or not math.isfinite(score):
        return f"run '{run.run_id}' has no metric '{gate.metric}'"
    if score < gate.min_score:
        return (
            f"run '{run.run_id}' scored {gate.metric} = {score:g}, below the gate's "
            f"{gate.min_score:g}"
        )
    return ""
