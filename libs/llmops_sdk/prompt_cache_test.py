"""The SDK prompt cache against a real registry: watch invalidation, stale-while-revalidate, fallback."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from llmops.v1 import prompt_registry_pb2 as pb
from llmops_core.errors import UnavailableError
from llmops_core.testing import serving
from llmops_sdk import PromptCache, PromptRegistryClient
from llmops_stack._process import free_port
from prompt_registry.main import create_server


def _content(text: str) -> pb.PromptContent:
    return pb.PromptContent(
        type=pb.PROMPT_TYPE_TEXT, template=f"{text} {{{{question}}}}", variables=["question"]
    )


async def _two_versions(client: PromptRegistryClient) -> str:
    name = f"cache/{uuid.uuid4().hex[:8]}"
    for text in ("one", "two"):
        await client.rpc.CreatePromptVersion(
            pb.CreatePromptVersionRequest(name=name, content=_content(text))
        )
    await client.rpc.SetLabel(pb.SetLabelRequest(name=name, label="production", version=1))
    return name


async def test_a_label_move_is_seen_within_100_ms(settings):
    async with serving(create_server(settings)) as address, PromptRegistryClient(address) as client:
        name = await _two_versions(client)
        cache = PromptCache(PromptRegistryClient(address), ttl=3600)
        try:
            assert (await cache.resolve(name, label="production")).version.version == 1
            await asyncio.wait_for(cache.watching.wait(), 5)
            delays = []
            for target, expected in ((2, 1), (1, 2), (2, 1), (1, 2), (2, 1)):
                await client.rpc.SetLabel(
                    pb.SetLabelRequest(
                        name=name, label="production", version=target, expected_version=expected
                    )
                )
                moved = time.perf_counter()
                while (await cache.resolve(name, label="production")).version.version != target:
                    assert time.perf_counter() - moved < 1.0, "the cache never saw the move"
                    await asyncio.sleep(0.001)
                delays.append(time.perf_counter() - moved)
        finally:
            await cache.close()
            await cache.client.close()
    assert max(delays) < 0.1, delays


async def test_a_stale_entry_is_served_while_the_registry_is_down(settings):
    server = create_server(settings)
    port = await server.start()
    address = f"127.0.0.1:{port}"
    async with PromptRegistryClient(address) as client:
        name = await _two_versions(client)
    cache = PromptCache(PromptRegistryClient(address, timeout=0.5), ttl=0.01)
    try:
        assert (await cache.resolve(name, label="production")).version.version == 1
        await server.stop(grace=0)
        await asyncio.sleep(0.05)
        for _ in range(3):  # expired, refresh fails in the background, the entry still answers
            assert (await cache.resolve(name, label="production")).version.version == 1
            await asyncio.sleep(0.05)
    finally:
        await cache.close()
        await cache.client.close()


async def test_the_fallback_is_used_only_when_the_registry_is_unreachable_and_nothing_is_cached():
    fallback = pb.PromptVersion(name="support/answer", version=0, content=_content("fallback"))
    client = PromptRegistryClient(f"127.0.0.1:{free_port()}", timeout=0.5)
    cache = PromptCache(client, fallbacks={"support/answer": fallback})
    try:
        resolved = await cache.resolve("support/answer", label="production")
        assert (resolved.label, resolved.version.version) == ("fallback", 0)
        assert resolved.version.content.template == "fallback {{question}}"
        with pytest.raises(UnavailableError):
            await cache.resolve("other/prompt", label="production")
    finally:
        await cache.close()
        await client.close()


async def test_sticky_keys_and_versions_are_cached_apart(settings):
    async with serving(create_server(settings)) as address, PromptRegistryClient(address) as client:
        name = await _two_versions(client)
        cache = PromptCache(client)
        try:
            pinned = await cache.resolve(name, version=2)
            labelled = await cache.resolve(name, label="production", sticky_key="user-1")
            assert (pinned.version.version, labelled.version.version) == (2, 1)
        finally:
            await cache.close()
