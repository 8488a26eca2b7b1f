"""Structured JSON logs, with the request's trace id on every line.

The trace id lives in a ContextVar: the RPC instrumentation sets it from the
``x-llmops-trace-id`` metadata key (or mints one), the SDK forwards it on every
outgoing call, so one id follows a request across all services.
"""

from __future__ import annotations

import contextvars
import logging
import sys
import uuid

import structlog

TRACE_ID_METADATA_KEY = "x-llmops-trace-id"

_trace_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "llmops_trace_id", default=None
)


def new_trace_id() -> str:
    """A fresh, URL-safe trace id (32 hex characters, like W3C trace ids)."""
    return uuid.uuid4().hex


def current_trace_id() -> str | None:
    """The trace id of the request being handled, if any."""
    return _trace_id.get()


def bind_trace_id(trace_id: str | None) -> contextvars.Token:
    """Make ``trace_id`` current for this task; returns a token for ``reset_trace_id``."""
    return _trace_id.set(trace_id)


def reset_trace_id(token: contextvars.Token) -> None:
    _trace_id.reset(token)


def _add_trace_id(_logger, _method, event_dict):
    trace_id = _trace_id.get()
    if trace_id and "trace_id" not in event_dict:
        event_dict["trace_id"] = trace_id
    return event_dict


def configure_logging(service: str, level: str = "INFO", stream=None) -> None:
    """One JSON object per line on stderr (or ``stream``), tagged with the service name."""
    logging.basicConfig(level=level, stream=stream or sys.stderr, format="%(message)s")
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _add_trace_id,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        # One write per line: worker processes share the stream, and a line written in two
        # pieces (message, then newline) can interleave with another worker's.
        logger_factory=structlog.WriteLoggerFactory(stream or sys.stderr),
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.bind_contextvars(service=service)


def get_logger(name: str | None = None):
    return structlog.get_logger(name)
