"""The Redis prompt store on its own Redis: the pipelined connection, the gate guard in the
move script, watch resumption limits, and data written by the first key layout."""

from __future__ import annotations

import asyncio
import json

import pytest
import redis.asyncio as redis
from redis.exceptions import ResponseError

from llmops_core import PluginContext, PromotionGateRecord, PromptRecord, Settings
from llmops_core.errors import FailedPreconditionError, InvalidArgumentError
from llmops_redis._pipelined import PipelinedRedis
from llmops_redis.prompt_store import EVENTS_KEY, RedisPromptStore, RedisPromptStoreConfig
from llmops_stack._process import free_port
from llmops_stack.redis_server import start_redis

_ECHO = "return {ARGV[1], redis.call('INCR', KEYS[1])}"


@pytest.fixture
async def redis_url(tmp_path):
    """A private redis-server: these tests trim and rewrite the registry's global keys."""
    port = free_port()
    process = await start_redis(port, tmp_path / "redis", log_path=tmp_path / "redis.log")
    yield f"redis://127.0.0.1:{port}/0"
    process.stop()


@pytest.fixture
async def store(redis_url):
    settings = Settings.model_validate({"redis": {"url": redis_url}})
    store = RedisPromptStore(RedisPromptStoreConfig(), PluginContext(settings))
    yield store
    await store.close()


def _draft(name: str, template: str) -> PromptRecord:
    content = {"type": "text", "template": template, "variables": [], "model_config": {}}
    return PromptRecord(name=name, version=0, content=content, content_hash="sha256:" + template)


async def test_pipelined_calls_get_their_own_replies_in_any_interleaving(redis_url):
    connection = PipelinedRedis(redis_url)
    try:
        replies = await asyncio.gather(
            *(connection.run_script(_ECHO, ["counter"], [f"caller-{i}"]) for i in range(2000))
        )
        assert [reply[0] for reply in replies] == [f"caller-{i}".encode() for i in range(2000)]
        assert sorted(reply[1] for reply in replies) == list(range(1, 2001))
        # A caller that gives up does not shift the replies of the others.
        slow = asyncio.ensure_future(connection.run_script(_ECHO, ["counter"], ["gone"]))
        others = [connection.run_script(_ECHO, ["counter"], [f"after-{i}"]) for i in range(50)]
        slow.cancel()
        assert [r[0] for r in await asyncio.gather(*others)] == [
            f"after-{i}".encode() for i in range(50)
        ]
        # A failing script fails its caller only.
        failing = connection.run_script("return redis.call('NOPE')", [], [])
        fine = connection.run_script(_ECHO, ["counter"], ["fine"])
        results = await asyncio.gather(failing, fine, return_exceptions=True)
        assert isinstance(results[0], ResponseError)
        assert results[1][0] == b"fine"
        # Redis forgetting its scripts (a restart, SCRIPT FLUSH) costs one EVAL.
        admin = redis.Redis.from_url(redis_url)
        await admin.script_flush()
        await admin.aclose()
        assert (await connection.run_script(_ECHO, ["counter"], ["again"]))[0] == b"again"
    finally:
        await connection.close()


async def test_the_move_script_refuses_a_gated_move_not_admitted_under_the_current_gate(store):
    await store.create_version(_draft("gated/p", "one"))
    await store.create_version(_draft("gated/p", "two"))
    await store.set_label("gated/p", "production", 1, expected_version=None, author="", reason="")
    label = await store.set_promotion_gate(
        "gated/p",
        "production",
        PromotionGateRecord(metric="accuracy", min_score=0.9),
        allow_protected=False,
        author="",
        reason="",
    )
    assert label.gate == PromotionGateRecord(metric="accuracy", min_score=0.9)
    assert label.gate_id
    for admitted in ("", "1-1"):  # no admission, or one under another gate
        with pytest.raises(FailedPreconditionError, match="promotion gate"):
            await store.set_label(
                "gated/p",
                "production",
                2,
                expected_version=None,
                author="",
                reason="",
                admitted_gate=admitted,
            )
    moved = await store.set_label(
        "gated/p",
        "production",
        2,
        expected_version=1,
        author="",
        reason="",
        evaluation_run_id="run-7",
        admitted_gate=label.gate_id,
    )
    assert (moved.version, moved.gate_id) == (2, label.gate_id)
    events = await store.read_events("gated/p", before="", after="", count=1)
    assert (events[0].type, events[0].evaluation_run_id) == ("LABEL_SET", "run-7")


async def test_watching_from_a_trimmed_position_is_refused(store, redis_url):
    for index in range(5):
        await store.create_version(_draft("trim/p", f"v{index}"))
    events = await store.read_events("", before="", after="", count=10)
    oldest = events[-1].event_id
    admin = redis.Redis.from_url(redis_url)
    await admin.xtrim(EVENTS_KEY, maxlen=2, approximate=False)
    await admin.aclose()
    with pytest.raises(InvalidArgumentError, match="no longer retained"):
        await store.watch("", oldest)
    with pytest.raises(InvalidArgumentError, match="no longer retained"):
        await store.watch("", events[3].event_id)  # the entry after it was trimmed
    watch = await store.watch("", events[1].event_id)  # the first retained entry
    assert (await anext(watch)).event_id == events[0].event_id
    await watch.aclose()


async def test_prompts_of_the_first_key_layout_are_listed_and_resolved(store, redis_url):
    admin = redis.Redis.from_url(redis_url)
    record = {
        "content": {"type": "text", "template": "old", "variables": [], "model_config": {}},
        "content_hash": "sha256:old",
        "tags": ["legacy"],
        "commit_message": "",
        "author": "",
        "created_at": 1700000000.5,
    }
    await admin.hset("llmops:prompt:legacy/p:versions", "1", json.dumps(record))
    await admin.hset("llmops:prompt:legacy/p:hashes", "sha256:old", "1")
    await admin.hset(
        "llmops:prompt:legacy/p:labels",
        mapping={
            "latest": '{"version":1,"updated_at":1700000000.5,"protected":false}',
            "production": '{"version": 1, "updated_at": 1700000001.0, "protected": false}',
        },
    )
    await admin.sadd("llmops:prompts", "legacy/p")
    await admin.xadd(
        "llmops:prompt:legacy/p:audit",
        {"action": "set_label", "label": "production", "version": "1", "author": "ana"},
    )
    await admin.aclose()
    infos, _ = await store.list_prompts(
        prefix="legacy/", after="", tag="legacy", label="", limit=10
    )
    assert [(info.name, info.latest_version, info.tags, info.type) for info in infos] == [
        ("legacy/p", 1, ("legacy",), "text")
    ]
    assert infos[0].created_at == 1700000000.5
    resolved, label = await store.resolve("legacy/p", label="production", version=0, point=0)
    assert (resolved.version, label, resolved.labels) == (1, "production", ("latest", "production"))
    events = await store.read_events("legacy/p", before="", after="", count=10)
    assert (events[0].type, events[0].label, events[0].author) == ("LABEL_SET", "production", "ana")
    created, was_new = await store.create_version(_draft("legacy/p", "new"))
    assert (created.version, was_new) == (2, True)
