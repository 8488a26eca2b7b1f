"""The one table between domain errors and gRPC codes, in both directions, without a server."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from llmops_core import error_from_status, status_code_for, to_grpc_status
from llmops_core.errors import (
    AlreadyExistsError,
    ConfigError,
    DeadlineExceededError,
    FailedPreconditionError,
    InternalError,
    InvalidArgumentError,
    LlmopsError,
    NotFoundError,
    PluginError,
    PluginNotFoundError,
    ResourceExhaustedError,
    UnavailableError,
    UnimplementedError,
)

CODES = [
    (InvalidArgumentError("m"), grpc.StatusCode.INVALID_ARGUMENT),
    (NotFoundError("m"), grpc.StatusCode.NOT_FOUND),
    (AlreadyExistsError("m"), grpc.StatusCode.ALREADY_EXISTS),
    (FailedPreconditionError("m"), grpc.StatusCode.FAILED_PRECONDITION),
    (ResourceExhaustedError("m"), grpc.StatusCode.RESOURCE_EXHAUSTED),
    (UnavailableError("m"), grpc.StatusCode.UNAVAILABLE),
    (DeadlineExceededError("m"), grpc.StatusCode.DEADLINE_EXCEEDED),
    (InternalError("m"), grpc.StatusCode.INTERNAL),
    (UnimplementedError("m"), grpc.StatusCode.UNIMPLEMENTED),
    (ConfigError("m"), grpc.StatusCode.FAILED_PRECONDITION),
    (PluginError("m", kind="guard", plugin="x"), grpc.StatusCode.FAILED_PRECONDITION),
    (PluginNotFoundError("m", kind="guard", plugin="x"), grpc.StatusCode.FAILED_PRECONDITION),
    (LlmopsError("m"), grpc.StatusCode.UNKNOWN),
]


def _all_subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub} | _all_subclasses(sub)
    return found


def test_every_error_class_has_a_code_in_the_table():
    covered = {type(error) for error, _ in CODES}
    declared = {
        cls for cls in _all_subclasses(LlmopsError) if cls.__module__ == "llmops_core.errors"
    }
    assert declared | {LlmopsError} == covered


@pytest.mark.parametrize(("error", "code"), CODES, ids=lambda v: type(v).__name__)
def test_each_error_travels_as_its_canonical_code(error, code):
    assert status_code_for(error) == code
    assert to_grpc_status(error, domain="svc").code == code


def test_a_subclass_defined_elsewhere_inherits_its_parents_code():
    class CollectionGoneError(NotFoundError):
        default_reason = "COLLECTION_GONE"

    assert status_code_for(CollectionGoneError("gone")) == grpc.StatusCode.NOT_FOUND


def test_the_status_carries_message_and_error_info():
    error = NotFoundError("no prompt 'x'", reason="PROMPT_NOT_FOUND", metadata={"name": "x"})
    status = to_grpc_status(error, domain="prompt-registry")
    assert status.details == "no prompt 'x'"
    [(key, value)] = status.trailing_metadata
    assert key == "grpc-status-details-bin"
    info = error_details_pb2.ErrorInfo()
    assert status_pb2.Status.FromString(value).details[0].Unpack(info)
    assert (info.reason, info.domain, dict(info.metadata)) == (
        "PROMPT_NOT_FOUND",
        "prompt-registry",
        {"name": "x"},
    )


def test_an_explicit_domain_is_kept():
    status = to_grpc_status(UnavailableError("down", domain="redis"), domain="monitoring")
    error = error_from_status(status.code, status.details, status.trailing_metadata)
    assert error.domain == "redis"


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (grpc.StatusCode.OUT_OF_RANGE, InvalidArgumentError),
        (grpc.StatusCode.ABORTED, FailedPreconditionError),
        (grpc.StatusCode.UNAVAILABLE, UnavailableError),
        (grpc.StatusCode.DEADLINE_EXCEEDED, DeadlineExceededError),
        (grpc.StatusCode.UNIMPLEMENTED, UnimplementedError),
        (grpc.StatusCode.PERMISSION_DENIED, LlmopsError),
    ],
)
def test_a_status_without_error_info_still_becomes_a_typed_error(code, cls):
    error = error_from_status(code, "from somewhere else", None)
    assert type(error) is cls
    assert (error.message, error.reason) == ("from somewhere else", code.name)


def test_an_empty_message_falls_back_to_the_code_name():
    assert error_from_status(grpc.StatusCode.UNAVAILABLE, "", ()).message == "UNAVAILABLE"
