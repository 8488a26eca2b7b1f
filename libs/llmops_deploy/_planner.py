"""The capacity planner: every tensor/pipeline-parallel split of a model on N GPUs, the
memory each needs per GPU, and the smallest tensor-parallel degree that fits."""

from __future__ import annotations

from dataclasses import dataclass

from llmops_deploy._capacity import estimate, pp_options, tp_options
from llmops_deploy._catalog import ModelSpec
from llmops_deploy._models import CapacityEstimate, DeploymentPlan
from llmops_deploy._validate import min_tensor_parallel, resolve_plan


@dataclass(frozen=True)
class Option:
    tensor_parallel: int
    pipeline_parallel: int
    estimate: CapacityEstimate


@dataclass(frozen=True)
class CapacityReport:
    spec: ModelSpec
    plan: DeploymentPlan  # the split the arithmetic is shown for, resolved
    options: list[Option]
    min_tensor_parallel: int  # with pipeline_parallel 1; 0: none fits on gpu_count
    arithmetic: list[str]


def plan_report(plan: DeploymentPlan, spec: ModelSpec) -> CapacityReport:
    """Estimate every valid split of ``plan.gpu_count`` GPUs.

    The arithmetic is shown for the plan's own TP/PP when it sets them, else for the
    smallest TP that fits (or the largest possible when none does).
    """
    gpus = plan.gpu_count or 1
    base = resolve_plan(
        plan.model_copy(update={"tensor_parallel": 1, "pipeline_parallel": 1, "gpu_ids": []}),
        spec,
    ).model_copy(update={"gpu_count": gpus})
    options = []
    for pp in pp_options(spec, gpus):
        for tp in tp_options(spec, gpus // pp):
            trial = base.model_copy(update={"tensor_parallel": tp, "pipeline_parallel": pp})
            options.append(Option(tp, pp, estimate(trial, spec).estimate))
    smallest = min_tensor_parallel(base, spec)
    tp = plan.tensor_parallel or smallest or max(tp_options(spec, gpus), default=1)
    chosen = base.model_copy(
        update={"tensor_parallel": tp, "pipeline_parallel": plan.pipeline_parallel or 1}
    )
    return CapacityReport(
        spec=spec,
        plan=chosen,
        options=options,
        min_tensor_parallel=smallest,
        arithmetic=estimate(chosen, spec).lines(chosen, spec),
    )
