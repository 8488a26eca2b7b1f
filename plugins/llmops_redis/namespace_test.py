"""The prompt store's namespaces on a Redis of their own: policies are versioned by the same
scripts under keys of their own, and the prompt namespace keeps its key layout byte for byte."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as redis

from llmops_core import PluginContext, PromptRecord, Settings
from llmops_core.errors import FailedPreconditionError, NotFoundError
from llmops_redis.prompt_store import RedisPromptStore, RedisPromptStoreConfig
from llmops_stack._process import free_port
from llmops_stack.redis_server import start_redis


@pytest.fixture
async def redis_url(tmp_path):
    """A private redis-server: the tests list every key of the database."""
    port = free_port()
    process = await start_redis(port, tmp_path / "redis", log_path=tmp_path / "redis.log")
    yield f"redis://127.0.0.1:{port}/0"
    process.stop()


def _store(url: str, namespace: str) -> RedisPromptStore:
    settings = Settings.model_validate({"redis": {"url": url}})
    return RedisPromptStore(RedisPromptStoreConfig(namespace=namespace), PluginContext(settings))


def _draft(name: str, text: str) -> PromptRecord:
    return PromptRecord(name=name, version=0, content={"text": text}, content_hash=text)


async def _keys(url: str) -> set[bytes]:
    connection = redis.Redis.from_url(url)
    try:
        return {key async for key in connection.scan_iter(count=1000)}
    finally:
        await connection.aclose()


async def _exercise(store: RedisPromptStore, name: str) -> None:
    """Versions, a label moved and rolled back (one move left to undo): every key a record has."""
    await store.create_version(_draft(name, "one"))
    await store.create_version(_draft(name, "two"))
    await store.set_label(name, "production", 1, expected_version=None, author="a", reason="")
    await store.set_label(name, "production", 2, expected_version=1, author="a", reason="")
    await store.set_label(name, "production", 1, expected_version=2, author="a", reason="")
    await store.rollback_label(
        name, "production", version=None, expected_version=None, author="a", reason=""
    )


async def test_the_prompt_namespace_keeps_its_key_layout(redis_url):
    store = _store(redis_url, "prompt")
    try:
        await _exercise(store, "support/triage")
        await store.list_prompts(prefix="", after="", tag="", label="", limit=10)
    finally:
        await store.close()
    parts = ("versions", "hashes", "labels", "meta", "audit", "rollback")
    assert await _keys(redis_url) == {
        *(f"llmops:prompt:support/triage:{part}".encode() for part in parts),
        b"llmops:prompt-names",
        b"llmops:prompt-events",
    }


async def test_policies_live_apart_from_prompts(redis_url):
    prompts, policies = _store(redis_url, "prompt"), _store(redis_url, "policy")
    try:
        await _exercise(policies, "strict")
        parts = ("versions", "hashes", "labels", "meta", "audit", "rollback")
        assert await _keys(redis_url) == {
            *(f"llmops:policy:strict:{part}".encode() for part in parts),
            b"llmops:policy-names",
            b"llmops:policy-events",
        }
        # Neither kind sees the other's records, names or events.
        await prompts.create_version(_draft("strict", "a prompt of the same name"))
        assert (await policies.get_version("strict", 1)).content == {"text": "one"}
        assert (await prompts.get_version("strict", 1)).content == {
            "text": "a prompt of the same name"
        }
        assert await prompts.latest_version("strict") == 1
        assert await policies.latest_version("strict") == 2
        policy_names = await policies.list_prompts(prefix="", after="", tag="", label="", limit=10)
        assert [info.name for info in policy_names[0]] == ["strict"]
        events = await policies.read_events("", before="", after="", count=100)
        assert {event.prompt_name for event in events} == {"strict"}
        assert len(events) == 6
        assert len(await prompts.read_events("", before="", after="", count=100)) == 1
    finally:
        await prompts.close()
        await policies.close()


async def test_errors_name_the_kind_of_record(redis_url):
    store = _store(redis_url, "policy")
    try:
        with pytest.raises(NotFoundError, match="policy 'ghost' does not exist.*ListPolicies") as e:
            await store.resolve("ghost", label="production", version=0, point=0)
        assert e.value.reason == "POLICY_NOT_FOUND" and e.value.metadata == {"policy": "ghost"}
        await store.create_version(_draft("p", "one"))
        with pytest.raises(NotFoundError, match="policy 'p' has no version 4; its versions are 1"):
            await store.resolve("p", label="", version=4, point=0)
        with pytest.raises(NotFoundError, match="set it with SetPolicyLabel"):
            await store.resolve("p", label="production", version=0, point=0)
        await store.set_label("p", "production", 1, expected_version=0, author="", reason="")
        await store.protect_label("p", "production", True, author="", reason="")
        with pytest.raises(FailedPreconditionError, match="label 'production' of policy 'p' is"):
            await store.set_label("p", "production", 1, expected_version=None, author="", reason="")
    finally:
        await store.close()


async def test_resolve_falls_back_to_a_second_label_in_one_call(redis_url):
    store = _store(redis_url, "policy")
    try:
        await store.create_version(_draft("p", "one"))
        await store.create_version(_draft("p", "two"))
        record, label = await store.resolve(
            "p", label="production", version=0, point=0, fallback="latest"
        )
        assert (record.version, label) == (2, "latest")
        await store.set_label("p", "production", 1, expected_version=0, author="", reason="")
        record, label = await store.resolve(
            "p", label="production", version=0, point=0, fallback="latest"
        )
        assert (record.version, label, record.labels) == (1, "production", ("production",))
        with pytest.raises(NotFoundError, match="has no label 'canary'"):
            await store.resolve("p", label="canary", version=0, point=0, fallback="staging")
    finally:
        await store.close()


async def test_watchers_of_policies_see_policy_events_only(redis_url):
    prompts, policies = _store(redis_url, "prompt"), _store(redis_url, "policy")
    try:
        subscription = await policies.watch("", "")
        await prompts.create_version(_draft("a-prompt", "x"))
        await policies.create_version(_draft("a-policy", "x"))
        event = await asyncio.wait_for(anext(aiter(subscription)), 5)
        assert (event.prompt_name, event.type) == ("a-policy", "VERSION_CREATED")
        await subscription.aclose()
    finally:
        await prompts.close()
        await policies.close()
