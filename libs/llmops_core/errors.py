"""The one exception tree of llmops: every service raises these, every client receives them.

Each class carries the canonical gRPC code it travels as (see ``_status.py``) and a
``reason``: an UPPER_SNAKE identifier that machines match on (``ErrorInfo.reason``),
while the message is for people and says what to change.
"""

from __future__ import annotations

from collections.abc import Mapping


class LlmopsError(Exception):
    """Root of every error llmops raises on purpose."""

    default_reason = "LLMOPS_ERROR"

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        domain: str = "llmops",
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or self.default_reason
        self.domain = domain
        self.metadata = dict(metadata or {})

    def __str__(self) -> str:
        return self.message


class InvalidArgumentError(LlmopsError):
    """The request is malformed or out of range; retrying it unchanged fails again."""

    default_reason = "INVALID_ARGUMENT"


class NotFoundError(LlmopsError):
    """The named resource (prompt, label, version, collection, trace...) does not exist."""

    default_reason = "NOT_FOUND"


class AlreadyExistsError(LlmopsError):
    """A resource with that identity exists already and may not be created twice."""

    default_reason = "ALREADY_EXISTS"


class FailedPreconditionError(LlmopsError):
    """The system is not in the state the request expects (a lost compare-and-set, a protected label)."""

    default_reason = "FAILED_PRECONDITION"


class ResourceExhaustedError(LlmopsError):
    """A limit was hit: request size, rate, queue depth."""

    default_reason = "RESOURCE_EXHAUSTED"


class UnavailableError(LlmopsError):
    """A dependency (Redis, Triton, another service) cannot be reached; retrying later may work."""

    default_reason = "UNAVAILABLE"


class DeadlineExceededError(LlmopsError):
    """The caller's deadline passed before the work finished."""

    default_reason = "DEADLINE_EXCEEDED"


class UnimplementedError(LlmopsError):
    """The RPC is part of the API but this server does not implement it (yet)."""

    default_reason = "UNIMPLEMENTED"


class InternalError(LlmopsError):
    """A bug or an unexpected state inside llmops; the message is safe to show, the log has the rest."""

    default_reason = "INTERNAL"


class ConfigError(LlmopsError):
    """The configuration file or an environment override is invalid; the message names the key."""

    default_reason = "CONFIG_INVALID"


class PluginError(LlmopsError):
    """A plugin could not be found, loaded or configured."""

    default_reason = "PLUGIN_ERROR"

    def __init__(self, message: str, *, kind: str, plugin: str, **kwargs) -> None:
        kwargs["metadata"] = {**(kwargs.get("metadata") or {}), "kind": kind, "plugin": plugin}
        super().__init__(message, **kwargs)
        self.kind = kind
        self.plugin = plugin


class PluginNotFoundError(PluginError):
    """No plugin of that kind is registered under that name."""

    default_reason = "PLUGIN_NOT_FOUND"
