"""Live registry events: one blocking reader of the event stream, fanned out to every watcher.

One task per process runs ``XREAD BLOCK`` on its own connection (a blocked connection
can serve nothing else), so a thousand watchers cost one Redis connection, and an
event reaches them as soon as the script that wrote it returns. A watcher that resumes
from an event id subscribes first and replays the stream after that id second, then
skips the live events it already replayed: no gap and no duplicate between the two.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import re
from collections.abc import Callable
from typing import Any

import redis.asyncio as redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from llmops_core import PromptEventRecord, get_logger
from llmops_core.errors import InvalidArgumentError, ResourceExhaustedError, UnavailableError
from llmops_redis._connection import unavailable_on_failure

_EVENT_ID = re.compile(r"^\d{1,20}-\d{1,20}$")
_BLOCK_MS = 1000  # how long one XREAD waits; the reader stops this soon after the last watcher
_REPLAY_BATCH = 500
_END = object()  # queued to end a subscription


def event_key(event_id: str) -> tuple[int, int]:
    milliseconds, _, sequence = event_id.partition("-")
    return int(milliseconds), int(sequence or 0)


class PromptEventHub:
    """Delivers the events of one Redis stream to subscribers."""

    def __init__(
        self,
        url: str,
        stream: str,
        client: redis.Redis,
        parse: Callable[[bytes, dict[bytes, bytes]], PromptEventRecord],
        *,
        queue_size: int = 10_000,
    ) -> None:
        self.url = url
        self.stream = stream
        self._client = client  # the store's pool, for replays and stream metadata
        self._parse = parse
        self._queue_size = queue_size
        self._subscribers: set[Subscription] = set()
        self._reader: asyncio.Task | None = None
        self._starting = asyncio.Lock()
        self._log = get_logger("llmops.prompt_events")

    async def subscribe(self, prefix: str, after_event_id: str) -> Subscription:
        if after_event_id:
            await self._check_resumable(after_event_id)
        async with self._starting:
            if self._reader is None or self._reader.done():
                cursor = await self._last_id()
                self._reader = asyncio.create_task(self._read(cursor), name="prompt-events")
        # No await between here and the reader's next delivery: nothing is missed.
        subscription = Subscription(self, prefix, after_event_id, self._queue_size)
        self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        for subscription in list(self._subscribers):
            subscription.end(None)

    async def replay(self, after: str) -> list[tuple[str, PromptEventRecord]]:
        """Up to one batch of events after ``after`` (exclusive), oldest first."""
        async with unavailable_on_failure(self.url):
            entries = await self._client.xrange(self.stream, "(" + after, "+", count=_REPLAY_BATCH)
        return [(position.decode(), self._parse(position, fields)) for position, fields in entries]

    async def _last_id(self) -> str:
        info = await self._stream_info()
        return info["last"]

    async def _stream_info(self) -> dict[str, str]:
        async with unavailable_on_failure(self.url):
            try:
                info = await self._client.xinfo_stream(self.stream)
            except ResponseError:  # no such key: no event yet
                return {"last": "0-0", "lost": "0-0"}
        last = _text(_field(info, "last-generated-id")) or "0-0"
        # Entries are lost to a resuming watcher if XDEL removed one after its position, or
        # if trimming removed the oldest ones: everything before the first retained entry
        # (everything, when none is retained).
        lost = _text(_field(info, "max-deleted-entry-id")) or "0-0"
        if int(_field(info, "entries-added") or 0) > int(_field(info, "length") or 0):
            first = _text(_field(info, "recorded-first-entry-id")) or "0-0"
            trimmed_to = last if int(_field(info, "length") or 0) == 0 else first
            if event_key(trimmed_to) > event_key(lost):
                lost = trimmed_to
        return {"last": last, "lost": lost}

    async def _check_resumable(self, after: str) -> None:
        if not _EVENT_ID.match(after):
            raise InvalidArgumentError(
                f"after_event_id '{after[:60]}' is not an event id: use a PromptEvent.event_id "
                "as received (<milliseconds>-<sequence>), or leave it empty to watch live events",
                reason="INVALID_EVENT_ID",
            )
        info = await self._stream_info()
        if event_key(after) > event_key(info["last"]):
            raise InvalidArgumentError(
                f"after_event_id {after} is newer than every event of this registry (the last "
                f"is {info['last']}): it comes from another store; watch without it and re-read "
                "what you cached",
                reason="UNKNOWN_EVENT_ID",
            )
        if event_key(after) < event_key(info["lost"]):
            raise InvalidArgumentError(
                f"events after {after} are no longer retained (the stream was trimmed or "
                f"entries deleted up to {info['lost']}); watch without after_event_id and "
                "re-read what you cached",
                reason="EXPIRED_EVENT_ID",
            )

    async def _read(self, cursor: str) -> None:
        # Its own connection, without a read timeout: XREAD BLOCK holds it while it waits.
        connection = redis.Redis.from_url(
            self.url, decode_responses=False, socket_connect_timeout=2.0, socket_timeout=None
        )
        try:
            while self._subscribers:
                response = await connection.xread({self.stream: cursor}, count=500, block=_BLOCK_MS)
                for _stream, entries in response or ():
                    for position, fields in entries:
                        cursor = position.decode()
                        event = self._parse(position, fields)
                        for subscription in list(self._subscribers):
                            subscription.offer(cursor, event)
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            error = UnavailableError(
                f"the prompt event stream at {self.url} broke off ({exc}); watch again with "
                "after_event_id set to the last event received",
                reason="REDIS_UNAVAILABLE",
            )
            self._log.warning("event reader stopped", error=str(exc))
            for subscription in list(self._subscribers):
                subscription.end(error)
        finally:
            # Cleared before the first await: a watcher arriving while this one closes its
            # connection starts a new reader instead of waiting on a finished one.
            if self._reader is asyncio.current_task():
                self._reader = None
            with contextlib.suppress(Exception):
                await connection.aclose()


class Subscription:
    """One watcher's events: a replay after its resume id (if any), then live ones."""

    def __init__(self, hub: PromptEventHub, prefix: str, after: str, queue_size: int) -> None:
        self._hub = hub
        self._prefix = prefix
        self._queue: asyncio.Queue[Any] = asyncio.Queue(queue_size)
        self._replay_after = after  # "" once the replay is done (or was not asked for)
        self._replayed_to = after  # live events up to this id were replayed already
        self._backlog: collections.deque[tuple[str, PromptEventRecord]] = collections.deque()
        self._last = after  # id of the last event delivered
        self._closed = False

    def offer(self, event_id: str, event: PromptEventRecord) -> None:
        if self._closed or not event.prompt_name.startswith(self._prefix):
            return
        try:
            self._queue.put_nowait((event_id, event))
        except asyncio.QueueFull:
            self.end(
                ResourceExhaustedError(
                    f"this watcher fell {self._queue.maxsize} events behind and was dropped; "
                    f"watch again with after_event_id={self._last or '<last event received>'}",
                    reason="WATCHER_TOO_SLOW",
                )
            )

    def end(self, error: Exception | None) -> None:
        """Stop the subscription; the watcher gets ``error`` (or the end) after its backlog."""
        if self._closed:
            return
        self._closed = True
        self._hub.unsubscribe(self)
        # Drop what is queued so the end marker fits; a watcher ended by an error resumes
        # from the last event it received.
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait((_END, error))

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> PromptEventRecord:
        while True:
            if self._backlog:
                position, event = self._backlog.popleft()
                self._last = position
                return event
            if self._replay_after:
                entries = await self._hub.replay(self._replay_after)
                if entries:
                    self._replay_after = self._replayed_to = entries[-1][0]
                    self._backlog.extend(
                        entry for entry in entries if entry[1].prompt_name.startswith(self._prefix)
                    )
                else:
                    self._replay_after = ""
                continue
            position, item = await self._queue.get()
            if position is _END:
                if item is not None:
                    raise item
                raise StopAsyncIteration
            if self._replayed_to and event_key(position) <= event_key(self._replayed_to):
                continue  # delivered by the replay
            self._last = position
            return item

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            self._hub.unsubscribe(self)


def _field(info: dict, name: str) -> Any:
    return info.get(name, info.get(name.encode()))


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else str(value)
