"""The one table between domain errors and canonical gRPC status codes (AIP-193).

Servers turn an ``LlmopsError`` into a status with ``google.rpc.ErrorInfo`` details;
clients turn the status back into the same error class. Both directions read
``_CODE_BY_ERROR`` so the mapping cannot drift.
"""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

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

# Most specific classes first: lookup walks the MRO of the raised error.
_CODE_BY_ERROR: dict[type[LlmopsError], grpc.StatusCode] = {
    InvalidArgumentError: grpc.StatusCode.INVALID_ARGUMENT,
    NotFoundError: grpc.StatusCode.NOT_FOUND,
    AlreadyExistsError: grpc.StatusCode.ALREADY_EXISTS,
    FailedPreconditionError: grpc.StatusCode.FAILED_PRECONDITION,
    ResourceExhaustedError: grpc.StatusCode.RESOURCE_EXHAUSTED,
    UnavailableError: grpc.StatusCode.UNAVAILABLE,
    DeadlineExceededError: grpc.StatusCode.DEADLINE_EXCEEDED,
    UnimplementedError: grpc.StatusCode.UNIMPLEMENTED,
    ConfigError: grpc.StatusCode.FAILED_PRECONDITION,
    PluginError: grpc.StatusCode.FAILED_PRECONDITION,
    InternalError: grpc.StatusCode.INTERNAL,
    LlmopsError: grpc.StatusCode.UNKNOWN,
}

# The reverse direction: a status code received without our ErrorInfo (e.g. from
# grpc itself, or from a server that is not ours) still becomes a typed error.
_ERROR_BY_CODE: dict[grpc.StatusCode, type[LlmopsError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.OUT_OF_RANGE: InvalidArgumentError,
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExistsError,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPreconditionError,
    grpc.StatusCode.ABORTED: FailedPreconditionError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhaustedError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
    grpc.StatusCode.UNIMPLEMENTED: UnimplementedError,
    grpc.StatusCode.INTERNAL: InternalError,
}

# Classes that share a status code (ConfigError and FailedPreconditionError...) are told
# apart by the ErrorInfo reason they are raised with by default.
_ERROR_BY_REASON: dict[str, type[LlmopsError]] = {
    cls.default_reason: cls for cls in _CODE_BY_ERROR if cls is not LlmopsError
}
_ERROR_BY_REASON.update({"PLUGIN_NOT_FOUND": PluginNotFoundError})


def status_code_for(error: LlmopsError) -> grpc.StatusCode:
    """The canonical code an error travels as."""
    for cls in type(error).__mro__:
        if cls in _CODE_BY_ERROR:
            return _CODE_BY_ERROR[cls]
    return grpc.StatusCode.UNKNOWN


def to_grpc_status(error: LlmopsError, domain: str) -> grpc.Status:
    """A grpc.Status carrying the message and an ErrorInfo(reason, domain, metadata)."""
    code = status_code_for(error)
    info = error_details_pb2.ErrorInfo(
        reason=error.reason, domain=error.domain if error.domain != "llmops" else domain
    )
    info.metadata.update(error.metadata)
    detail = any_pb2.Any()
    detail.Pack(info)
    status = status_pb2.Status(
        code=getattr(code_pb2, code.name), message=error.message, details=[detail]
    )
    return rpc_status.to_status(status)


def error_from_status(
    code: grpc.StatusCode, message: str, trailing_metadata: tuple | None
) -> LlmopsError:
    """Rebuild the domain error a server raised from what arrived on the wire."""
    info = _error_info(trailing_metadata)
    error_class = _ERROR_BY_CODE.get(code, LlmopsError)
    if info is None:
        return error_class(message or code.name, reason=code.name)
    error_class = _ERROR_BY_REASON.get(info.reason, error_class)
    if issubclass(error_class, PluginError):
        metadata = dict(info.metadata)
        return error_class(
            message,
            kind=metadata.get("kind", ""),
            plugin=metadata.get("plugin", ""),
            reason=info.reason,
            domain=info.domain,
            metadata=metadata,
        )
    return error_class(
        message, reason=info.reason, domain=info.domain, metadata=dict(info.metadata)
    )


def _error_info(trailing_metadata: tuple | None) -> error_details_pb2.ErrorInfo | None:
    for key, value in trailing_metadata or ():
        if key != "grpc-status-details-bin":
            continue
        status = status_pb2.Status.FromString(value)
        for detail in status.details:
            info = error_details_pb2.ErrorInfo()
            if detail.Unpack(info):
                return info
    return None
