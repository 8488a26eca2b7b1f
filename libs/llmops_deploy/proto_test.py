"""The models map 1:1 onto the llmops.v1 messages and survive a round trip."""

from __future__ import annotations

import pytest

from llmops.v1 import inference_pb2 as pb
from llmops_deploy import (
    DeploymentPlan,
    ModelArchitecture,
    Precision,
    from_proto,
    lookup_model,
    plan_capacity,
    to_proto,
    validate_plan,
)
from llmops_deploy._proto import MESSAGES


@pytest.mark.parametrize("model,message", list(MESSAGES.items()), ids=lambda c: c.__name__)
def test_fields_are_the_messages_fields(model, message):
    assert list(model.model_fields) == [f.name for f in message.DESCRIPTOR.fields]


def test_a_validation_result_round_trips():
    result = validate_plan(
        DeploymentPlan(
            model="llama-2-70b",
            gpu_type="H100-80GB",
            gpu_count=8,
            tensor_parallel=3,
            kv_cache_dtype="fp8",
            gpu_ids=[0, 1, 2],
        )
    )
    message = to_proto(result)
    assert isinstance(message, pb.ValidateDeploymentPlanResponse)
    assert not message.valid
    assert message.issues[0].severity == pb.PLAN_ISSUE_SEVERITY_ERROR
    assert message.resolved_plan.kv_cache_dtype == pb.PRECISION_FP8
    assert list(message.resolved_plan.gpu_ids) == [0, 1, 2]
    back = from_proto(pb.ValidateDeploymentPlanResponse.FromString(message.SerializeToString()))
    assert back == result


def test_a_request_plan_with_unset_fields_reads_as_defaults():
    request = pb.PlanCapacityRequest(
        plan=pb.DeploymentPlan(model="x", gpu_type="L4", dtype=pb.PRECISION_BF16),
        architecture=to_proto(lookup_model("smollm2-135m").architecture()),
    )
    plan = from_proto(request.plan)
    assert plan.dtype is Precision.BF16 and plan.kv_cache_dtype is Precision.UNSPECIFIED
    architecture = from_proto(request.architecture)
    assert isinstance(architecture, ModelArchitecture)
    answer = plan_capacity(plan, architecture)
    response = to_proto(answer)
    assert isinstance(response, pb.PlanCapacityResponse)
    assert response.min_tensor_parallel == 1
    assert response.architecture.num_kv_heads == 3
    assert from_proto(response) == answer
