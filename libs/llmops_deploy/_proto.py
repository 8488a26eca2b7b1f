"""``to_proto`` / ``from_proto``: the models of this package and the ``llmops.v1`` messages
of the same name and fields (ValidateDeploymentPlan, PlanCapacity)."""

from __future__ import annotations

from pydantic import BaseModel

from llmops.v1 import inference_pb2 as pb
from llmops_deploy._models import (
    CapacityEstimate,
    CapacityPlan,
    DeploymentPlan,
    ModelArchitecture,
    PlanIssue,
    Severity,
    ValidationResult,
)
from llmops_deploy._precision import Precision

MESSAGES: dict[type[BaseModel], type] = {
    ModelArchitecture: pb.ModelArchitecture,
    DeploymentPlan: pb.DeploymentPlan,
    PlanIssue: pb.PlanIssue,
    CapacityEstimate: pb.CapacityEstimate,
    ValidationResult: pb.ValidateDeploymentPlanResponse,
    CapacityPlan: pb.PlanCapacityResponse,
}
_MODELS = {message.DESCRIPTOR.full_name: model for model, message in MESSAGES.items()}
_ENUM_PREFIXES = {
    "llmops.v1.Precision": ("PRECISION_", Precision),
    "llmops.v1.PlanIssueSeverity": ("PLAN_ISSUE_SEVERITY_", Severity),
}


def to_proto(model: BaseModel):
    """The ``llmops.v1`` message of a model (fields copied by name; enums by value name)."""
    message_type = MESSAGES[type(model)]
    values = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        if value is None:
            continue
        values[name] = _to_proto_value(value)
    return message_type(**values)


def _to_proto_value(value):
    if isinstance(value, Precision):
        return pb.Precision.Value(f"PRECISION_{value.value}")
    if isinstance(value, Severity):
        return pb.PlanIssueSeverity.Value(f"PLAN_ISSUE_SEVERITY_{value.value}")
    if isinstance(value, BaseModel):
        return to_proto(value)
    if isinstance(value, list):
        return [_to_proto_value(v) for v in value]
    return value


def from_proto(message) -> BaseModel:
    """The model of a ``llmops.v1`` message; unset sub-messages stay unset (None)."""
    model = _MODELS[message.DESCRIPTOR.full_name]
    values = {}
    for field in message.DESCRIPTOR.fields:
        value = getattr(message, field.name)
        repeated = field.is_repeated
        if field.message_type is not None:
            if repeated:
                values[field.name] = [from_proto(v) for v in value]
            elif message.HasField(field.name) or model.model_fields[field.name].is_required():
                values[field.name] = from_proto(value)
        elif field.enum_type is not None:
            prefix, enum = _ENUM_PREFIXES[field.enum_type.full_name]
            name = field.enum_type.values_by_number[value].name
            values[field.name] = enum(name.removeprefix(prefix))
        else:
            values[field.name] = list(value) if repeated else value
    return model(**values)
