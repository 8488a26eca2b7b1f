"""A client-side cache of resolved prompt versions, invalidated by the registry's watch stream.

Resolving a label is on every request's path; a cached entry answers in
microseconds. Three things keep entries right and requests flowing:

- **Watch**: a background task follows ``WatchPrompts``; a change to a prompt drops
  its entries at once, so a label move is seen within milliseconds, not after a TTL.
- **TTL with stale-while-revalidate**: an entry older than ``ttl`` is still served
  while one refresh runs in the background; this bounds staleness when the watch
  stream is down (it reconnects with backoff and resumes after the last event seen).
- **Fallback**: a configured prompt per name, used only when the registry cannot be
  reached and nothing is cached, so a registry outage does not take chat down.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

from llmops.v1 import prompt_registry_pb2 as pb
from llmops_core import get_logger
from llmops_core.errors import UnavailableError
from llmops_sdk._services import PromptRegistryClient

FALLBACK_LABEL = "fallback"
_Key = tuple[str, str, int, str]  # name, label, version, sticky key


@dataclass
class _Entry:
    response: pb.ResolvePromptResponse
    fetched_at: float
    refreshing: asyncio.Task | None = None


class PromptCache:
    def __init__(
        self,
        client: PromptRegistryClient,
        *,
        ttl: float = 30.0,
        fallbacks: Mapping[str, pb.PromptVersion] | None = None,
        max_entries: int = 10_000,
    ) -> None:
        self.client = client
        self.ttl = ttl
        self.fallbacks = dict(fallbacks or {})
        self.max_entries = max_entries
        self._entries: OrderedDict[_Key, _Entry] = OrderedDict()
        # Bumped by every invalidation, so that a fetch that started before a change and
        # ends after it does not store what it read; bumped by every (re)subscription, so
        # that such a fetch stores its answer as due for revalidation.
        self._epoch = 0
        self._subscriptions = 0
        self._watch: asyncio.Task | None = None
        self._last_event_id = ""
        self.watching = asyncio.Event()  # set while the watch stream is connected
        self._log = get_logger("llmops.prompt_cache")

    async def resolve(
        self, name: str, *, label: str = "", version: int = 0, sticky_key: str = ""
    ) -> pb.ResolvePromptResponse:
        self.start_watching()
        key = (name, "" if version else label, version, sticky_key)
        entry = self._entries.get(key)
        if entry is None:
            return await self._fetch_or_fallback(key)
        self._entries.move_to_end(key)
        if time.monotonic() - entry.fetched_at > self.ttl and entry.refreshing is None:
            entry.refreshing = asyncio.create_task(self._refresh(key))
        return entry.response

    def invalidate(self, name: str | None = None) -> None:
        """Forget cached entries (of one prompt, or all)."""
        for key in [k for k in self._entries if name is None or k[0] == name]:
            del self._entries[key]
        self._epoch += 1

    def _expire_all(self) -> None:
        self._subscriptions += 1
        for entry in self._entries.values():
            entry.fetched_at = float("-inf")

    # --- watch -------------------------------------------------------------------------------

    def start_watching(self) -> None:
        """Follow the registry's change stream in the background (idempotent)."""
        if self._watch is None or self._watch.done():
            self._watch = asyncio.create_task(self._follow_changes())

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        for entry in self._entries.values():
            if entry.refreshing is not None:
                entry.refreshing.cancel()

    async def _follow_changes(self) -> None:
        backoff = 0.2
        while True:
            request = pb.WatchPromptsRequest(after_event_id=self._last_event_id)
            # No deadline: the stream lives as long as the cache. The raw stub gives the call
            # object, whose initial metadata says the registry has subscribed us.
            call = self.client.stub.WatchPrompts(request)
            try:
                await call.initial_metadata()
                # Connected (again). Resuming from an event id replays what we missed;
                # without one, a change may have slipped by before we subscribed: entries
                # are revalidated on their next use (and served meanwhile).
                if not self._last_event_id:
                    self._expire_all()
                self.watching.set()
                backoff = 0.2
                async for message in call:
                    event = message.event
                    if event.event_id:
                        self._last_event_id = event.event_id
                        self.invalidate(event.prompt_name)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the TTL covers us until we reconnect
                self._log.warning("prompt watch interrupted", error=str(exc), retry_in=backoff)
            finally:
                call.cancel()
            self.watching.clear()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

    # --- fetching ----------------------------------------------------------------------------

    async def _fetch(self, key: _Key) -> pb.ResolvePromptResponse:
        name, label, version, sticky_key = key
        request = pb.ResolvePromptRequest(name=name, sticky_key=sticky_key)
        if version:
            request.version = version
        else:
            request.label = label
        epoch, subscriptions = self._epoch, self._subscriptions
        response = await self.client.rpc.ResolvePrompt(request)
        if self._epoch != epoch:
            return response  # changed while we asked: use it once, do not cache it
        fresh = self._subscriptions == subscriptions
        self._entries[key] = _Entry(response, time.monotonic() if fresh else float("-inf"))
        if len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return response

    async def _fetch_or_fallback(self, key: _Key) -> pb.ResolvePromptResponse:
        try:
            return await self._fetch(key)
        except UnavailableError:
            fallback = self.fallbacks.get(key[0])
            if fallback is None:
                raise
            self._log.warning("registry unreachable: serving the fallback prompt", prompt=key[0])
            return pb.ResolvePromptResponse(version=fallback, label=FALLBACK_LABEL)

    async def _refresh(self, key: _Key) -> None:
        try:
            await self._fetch(key)
        except Exception:  # noqa: BLE001 - keep serving the stale entry; the next expiry retries
            entry = self._entries.get(key)
            if entry is not None:
                entry.refreshing = None
                entry.fetched_at = time.monotonic()
