"""Evaluation runs read from MonitoringService.GetEvaluationRun, for promotion gates."""

from __future__ import annotations

from llmops.v1 import monitoring_pb2
from llmops_core.errors import (
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    UnimplementedError,
)
from llmops_sdk import MonitoringClient
from prompt_registry.gates import EvaluationRunFacts

TIMEOUT_SECONDS = 5.0


class MonitoringEvaluationRuns:
    """EvaluationRuns over the monitoring service."""

    def __init__(self, client: MonitoringClient) -> None:
        self.client = client

    async def get(self, run_id: str) -> EvaluationRunFacts:
        try:
            response = await self.client.rpc.GetEvaluationRun(
                monitoring_pb2.GetEvaluationRunRequest(run_id=run_id), timeout=TIMEOUT_SECONDS
            )
        except UnimplementedError as exc:
            raise FailedPreconditionError(
                f"evaluation run '{run_id}' cannot be checked: evaluation runs are not available "
                f"yet (the monitoring service at {self.client.target} does not serve them), so "
                "a gated label cannot move; remove the label's gate (SetPromotionGate without a "
                "gate) to move it without an evaluation",
                reason="EVALUATION_RUNS_UNAVAILABLE",
            ) from exc
        except (NotFoundError, InvalidArgumentError) as exc:
            raise FailedPreconditionError(
                f"evaluation run '{run_id}' was not found by the monitoring service ({exc}); "
                "name a run of the version being promoted",
                reason="PROMOTION_GATE_NOT_MET",
            ) from exc
        run = response.run
        return EvaluationRunFacts(
            run_id=run.run_id or run_id,
            prompt_name=run.prompt.name,
            version=run.prompt.version,
            dataset=run.dataset,
            succeeded=run.status == monitoring_pb2.EVALUATION_STATUS_SUCCEEDED,
            passed=run.passed,
            metrics=dict(run.metrics),
        )

    async def close(self) -> None:
        await self.client.close()
