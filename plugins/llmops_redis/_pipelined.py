"""A pipelined Redis connection for the read on every request's path.

redis-py's asyncio client takes a pooled connection per command and spends about
100 us of CPU on each. Here every command is queued on one shared connection with a
future, and the replies (which Redis sends in request order) complete the futures as
hiredis parses them. While commands are on the wire, new ones wait and leave together
when the replies arrive (as Nagle's algorithm does), so under load one write and one
read serve many requests; an idle connection sends at once. A watchdog, not a timer
per command, fails the connection when the oldest command waits past the timeout. Errors are redis-py's exception classes, so
``unavailable_on_failure`` maps them like any other.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import time
from typing import Any

import hiredis  # pants: no-infer-dep
from redis.asyncio.connection import parse_url
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError


def supports(url: str) -> bool:
    """Whether ``url`` is one this connection can open (plain TCP or a Unix socket)."""
    return url.startswith(("redis://", "unix://"))


class PipelinedRedis:
    """One lazily opened connection; ``run_script`` may be awaited by many tasks at once."""

    def __init__(self, url: str, *, timeout: float = 5.0, connect_timeout: float = 2.0) -> None:
        self._options = parse_url(url)
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._protocol: _Protocol | None = None
        self._connecting = asyncio.Lock()
        self._heads: dict[tuple[str, bool], bytes] = {}

    async def run_script(self, source: str, keys: list[str], args: list[Any]) -> Any:
        """EVALSHA, falling back to EVAL when Redis lost its script cache (a restart)."""
        protocol = self._protocol
        if protocol is None or protocol.closed:
            protocol = await self._connect()
        tail = _pack_args([len(keys), *keys, *args])
        count = 3 + len(keys) + len(args)
        try:
            return await protocol.send(self._head(source, count, cached=True) + tail)
        except NoScriptError:
            return await protocol.send(self._head(source, count, cached=False) + tail)

    async def close(self) -> None:
        if self._protocol is not None:
            self._protocol.abort(RedisConnectionError("the connection was closed"))
            self._protocol = None

    def _head(self, source: str, count: int, *, cached: bool) -> bytes:
        """The packed start of EVALSHA <sha> (or EVAL <source>), before numkeys."""
        head = self._heads.get((source, cached))
        if head is None:
            body = hashlib.sha1(source.encode()).hexdigest() if cached else source  # noqa: S324
            head = _pack_args([b"EVALSHA" if cached else b"EVAL", body])
            self._heads[(source, cached)] = head
        return b"*%d\r\n" % count + head

    async def _connect(self) -> _Protocol:
        async with self._connecting:
            if self._protocol is not None and not self._protocol.closed:
                return self._protocol
            loop = asyncio.get_running_loop()
            options = self._options

            def protocol_factory() -> _Protocol:
                return _Protocol(self._timeout)

            try:
                async with asyncio.timeout(self._connect_timeout):
                    if "path" in options:
                        _, protocol = await loop.create_unix_connection(
                            protocol_factory, options["path"]
                        )
                    else:
                        _, protocol = await loop.create_connection(
                            protocol_factory,
                            options.get("host", "localhost"),
                            options.get("port", 6379),
                        )
            except (OSError, TimeoutError) as exc:
                raise RedisConnectionError(f"cannot connect to Redis: {exc}") from exc
            setup: list[list[Any]] = []
            if options.get("password"):
                user = options.get("username")
                setup.append(["AUTH", *([user] if user else []), options["password"]])
            if int(options.get("db") or 0):
                setup.append(["SELECT", int(options["db"])])
            try:
                for command in setup:
                    await protocol.send(b"*%d\r\n" % len(command) + _pack_args(command))
            except ResponseError as exc:
                protocol.abort(RedisConnectionError(f"Redis refused the connection: {exc}"))
                raise RedisConnectionError(f"Redis refused the connection setup: {exc}") from exc
            self._protocol = protocol
            return protocol


class _Protocol(asyncio.Protocol):
    def __init__(self, timeout: float) -> None:
        self._timeout = timeout
        self._reader = hiredis.Reader(replyError=ResponseError)
        self._waiting: collections.deque[tuple[asyncio.Future, float]] = collections.deque()
        self._outgoing: list[bytes] = []  # packed, not yet written
        self._in_flight = 0  # written, reply not yet read
        self._transport: asyncio.Transport | None = None
        self._watchdog: asyncio.TimerHandle | None = None
        self._error: Exception | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def send(self, packed: bytes) -> asyncio.Future:
        """Queue one packed command; its reply completes the returned future."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        if self.closed:
            future.set_exception(self._error or RedisConnectionError("the connection is closed"))
            return future
        self._waiting.append((future, time.monotonic()))
        if not self._outgoing and not self._in_flight:
            loop.call_soon(self._flush)  # the commands of this loop turn leave together
        self._outgoing.append(packed)
        if self._watchdog is None:
            self._watchdog = loop.call_later(self._timeout, self._check)
        return future

    def _flush(self) -> None:
        if self._outgoing and self._transport is not None and not self.closed:
            self._in_flight += len(self._outgoing)
            self._transport.write(b"".join(self._outgoing))
        self._outgoing.clear()

    def _check(self) -> None:
        self._watchdog = None
        if not self._waiting:
            return
        waited = time.monotonic() - self._waiting[0][1]
        if waited > self._timeout:
            self.abort(RedisTimeoutError(f"no reply from Redis within {self._timeout} s"))
            return
        self._watchdog = asyncio.get_running_loop().call_later(self._timeout - waited, self._check)

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        while (reply := self._reader.gets()) is not False:
            self._in_flight -= 1
            future = self._waiting.popleft()[0]
            if future.done():  # its caller gave up
                continue
            if isinstance(reply, ResponseError):
                if str(reply).startswith("NOSCRIPT"):
                    reply = NoScriptError(str(reply))
                future.set_exception(reply)
            else:
                future.set_result(reply)
        if self._outgoing and not self._in_flight:
            self._flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        error = self._error or RedisConnectionError(
            f"the Redis connection was lost ({exc or 'closed by the server'})"
        )
        while self._waiting:
            future = self._waiting.popleft()[0]
            if not future.done():
                future.set_exception(error)
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None

    def abort(self, error: Exception) -> None:
        """Close at once; every waiting command fails with ``error``."""
        if self._error is None:
            self._error = error
        self.closed = True
        if self._transport is not None:
            self._transport.abort()  # connection_lost fails the waiting futures


def _pack_args(args: list[Any]) -> bytes:
    """RESP bulk strings of ``args`` (without the array header)."""
    parts = []
    for arg in args:
        if isinstance(arg, str):
            arg = arg.encode()
        elif isinstance(arg, int):
            arg = b"%d" % arg
        elif not isinstance(arg, bytes):
            arg = repr(arg).encode()
        parts.append(b"$%d\r\n%b\r\n" % (len(arg), arg))
    return b"".join(parts)
