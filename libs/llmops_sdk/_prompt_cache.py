"""A client-side cache of resolved prompt versions.

Resolving a label is on every request's path; a cached entry answers in
microseconds. Entries expire after ``ttl`` seconds; an expired entry is served
while one refresh runs in the background (stale-while-revalidate), so a slow or
restarting registry never stalls requests that it could answer from cache.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from llmops.v1 import prompt_registry_pb2
from llmops_sdk._services import PromptRegistryClient


@dataclass
class _Entry:
    response: prompt_registry_pb2.ResolvePromptResponse
    fetched_at: float
    refreshing: asyncio.Task | None = None


class PromptCache:
    def __init__(self, client: PromptRegistryClient, *, ttl: float = 30.0) -> None:
        self.client = client
        self.ttl = ttl
        self._entries: dict[tuple[str, str, int], _Entry] = {}

    async def resolve(
        self, name: str, *, label: str = "", version: int = 0
    ) -> prompt_registry_pb2.ResolvePromptResponse:
        key = (name, label, version)
        entry = self._entries.get(key)
        if entry is None:
            return (await self._fetch(key)).response
        if time.monotonic() - entry.fetched_at > self.ttl and entry.refreshing is None:
            entry.refreshing = asyncio.create_task(self._refresh(key))
        return entry.response

    def invalidate(self, name: str | None = None) -> None:
        """Forget cached entries (of one prompt, or all)."""
        for key in [k for k in self._entries if name is None or k[0] == name]:
            del self._entries[key]

    async def _fetch(self, key: tuple[str, str, int]) -> _Entry:
        name, label, version = key
        request = prompt_registry_pb2.ResolvePromptRequest(name=name)
        if version:
            request.version = version
        else:
            request.label = label
        response = await self.client.rpc.ResolvePrompt(request)
        entry = self._entries[key] = _Entry(response, time.monotonic())
        return entry

    async def _refresh(self, key: tuple[str, str, int]) -> None:
        try:
            await self._fetch(key)
        except Exception:  # noqa: BLE001 - keep serving the stale entry; the next expiry retries
            entry = self._entries.get(key)
            if entry is not None:
                entry.refreshing = None
                entry.fetched_at = time.monotonic()
