"""Requests whose bytes do not parse answer INVALID_ARGUMENT, not INTERNAL with a traceback.

gRPC parses a request before any servicer code runs, and a parse failure there becomes
INTERNAL ("Exception deserializing request!") with a stack trace in the log. Each
method's parser is wrapped so that a failure yields a ``MalformedRequest`` instead; the
instrumentation turns that into INVALID_ARGUMENT naming what could not be parsed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import grpc


@dataclass(frozen=True)
class MalformedRequest:
    """Stands in for a request message whose bytes did not parse."""

    reason: str


def _tolerant(parse: Callable[[bytes], object]) -> Callable[[bytes], object]:
    def tolerant(data: bytes) -> object:
        try:
            return parse(data)
        except Exception as exc:  # noqa: BLE001 - any parse failure is the caller's bad bytes
            return MalformedRequest(f"{type(exc).__name__}: {exc}")

    return tolerant


class TolerantHandlers(grpc.GenericRpcHandler):
    """A generic handler whose methods parse requests with ``_tolerant`` parsers."""

    def __init__(self, inner: grpc.GenericRpcHandler) -> None:
        self._inner = inner
        self._handlers: dict[str, grpc.RpcMethodHandler | None] = {}

    def service(self, handler_call_details):
        method = handler_call_details.method
        if method not in self._handlers:
            handler = self._inner.service(handler_call_details)
            if handler is not None and handler.request_deserializer is not None:
                handler = handler._replace(
                    request_deserializer=_tolerant(handler.request_deserializer)
                )
            self._handlers[method] = handler
        return self._handlers[method]


class TolerantServer:
    """What the generated ``add_*_to_server`` functions see instead of the grpc.aio server."""

    def __init__(self, server: grpc.aio.Server) -> None:
        self._server = server

    def add_generic_rpc_handlers(self, handlers) -> None:
        self._server.add_generic_rpc_handlers(tuple(TolerantHandlers(h) for h in handlers))

    def add_registered_method_handlers(self, service: str, handlers: dict) -> None:
        # Newer generated code also registers methods by name: serve them tolerantly too.
        self._server.add_registered_method_handlers(
            service,
            {
                name: h._replace(request_deserializer=_tolerant(h.request_deserializer))
                if h.request_deserializer is not None
                else h
                for name, h in handlers.items()
            },
        )
