"""The prompt registry over a real socket, on a real Redis."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest
import redis.asyncio as redis

from llmops.v1 import common_pb2
from llmops.v1 import prompt_registry_pb2 as pb
from llmops_core.errors import (
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    ResourceExhaustedError,
)
from llmops_core.testing import serving
from llmops_sdk import PromptRegistryClient
from llmops_stack._process import free_port
from llmops_stack.redis_server import start_redis
from prompt_registry.main import create_server


def _chat(system: str = "Answer from the context.", user: str = "{{context}}\n\nQ: {{question}}"):
    return pb.PromptContent(
        type=pb.PROMPT_TYPE_CHAT,
        messages=[
            common_pb2.ChatMessage(role="system", content=system),
            common_pb2.ChatMessage(role="user", content=user),
        ],
        variables=["context", "question"],
        model_config=pb.ModelConfig(
            model="smollm2-135m", sampling=common_pb2.SamplingParams(max_tokens=64, temperature=0.2)
        ),
    )


def _name() -> str:
    return f"test/{uuid.uuid4().hex[:10]}"


async def test_versions_are_numbered_and_identical_content_is_idempotent(client):
    name = _name()
    first = await client.rpc.CreatePromptVersion(
        pb.CreatePromptVersionRequest(name=name, content=_chat())
    )
    again = await client.rpc.CreatePromptVersion(
        pb.CreatePromptVersionRequest(name=name, content=_chat())
    )
    second = await client.rpc.CreatePromptVersion(
        pb.CreatePromptVersionRequest(name=name, content=_chat(system="Be brief."), author="ana")
    )
    assert (first.version.version, first.created) == (1, True)
    assert (again.version.version, again.created) == (1, False)
    assert (second.version.version, second.created) == (2, True)
    assert second.version.author == "ana"
    assert second.version.content.model_config.sampling.max_tokens == 64
    # Output only: the labels on the version returned.
    assert list(first.version.labels) == list(again.version.labels) == ["latest"]
    once_more = await client.rpc.CreatePromptVersion(
        pb.CreatePromptVersionRequest(name=name, content=_chat())
    )
    assert (once_more.version.version, list(once_more.version.labels)) == (1, [])


async def test_label_move_is_compare_and_set_and_resolve_follows_it(client):
    name = _name()
    for system in ("one", "two"):
        await client.rpc.CreatePromptVersion(
            pb.CreatePromptVersionRequest(name=name, content=_chat(system))
        )
    await client.rpc.SetLabel(
        pb.SetLabelRequest(name=name, label="production", version=1, expected_version=0)
    )
    resolved = await client.rpc.ResolvePrompt(
        pb.ResolvePromptRequest(name=name, label="production")
    )
    assert resolved.version.version == 1
    with pytest.raises(FailedPreconditionError, match="points at version 1"):
        await client.rpc.SetLabel(
            pb.SetLabelRequest(name=name, label="production", version=2, expected_version=0)
        )
    await client.rpc.SetLabel(
        pb.SetLabelRequest(name=name, label="production", version=2, expected_version=1)
    )
    resolved = await client.rpc.ResolvePrompt(
        pb.ResolvePromptRequest(name=name, label="production")
    )
    assert (resolved.version.version, resolved.label) == (2, "production")
    latest = await client.rpc.ResolvePrompt(pb.ResolvePromptRequest(name=name, label="latest"))
    assert latest.version.version == 2


async def test_concurrent_label_moves_with_the_same_expectation_have_one_winner(client):
    name = _name()
    for system in ("a", "b", "c"):
        await client.rpc.CreatePromptVersion(
            pb.CreatePromptVersionRequest(name=name, content=_chat(system))
        )
    await client.rpc.SetLabel(pb.SetLabelRequest(name=name, label="staging", version=1))
    moves = [
        client.rpc.SetLabel(
            pb.SetLabelRequest(name=name, label="staging", version=v, expected_version=1)
        )
        for v in (2, 3, 2, 3)
    ]
    outcomes = await asyncio.gather(*moves, return_exceptions=True)
    assert sum(not isinstance(o, Exception) for o in outcomes) == 1
    assert all(isinstance(o, FailedPreconditionError) for o in outcomes if isinstance(o, Exception))


async def test_render_fills_variables_and_reports_unused_ones(client):
    name = _name()
    await client.rpc.CreatePromptVersion(pb.CreatePromptVersionRequest(name=name, content=_chat()))
    await client.rpc.SetLabel(pb.SetLabelRequest(name=name, label="production", version=1))
    rendered = await client.rpc.RenderPrompt(
        pb.RenderPromptRequest(
            name=name,
            label="production",
            variables={"context": "[1] {{not expanded}}", "question": "Why?", "x": "1"},
        )
    )
    assert rendered.messages[1].content == "[1] {{not expanded}}\n\nQ: Why?"
    assert list(rendered.unused_variables) == ["x"]


async def test_bad_input_is_invalid_argument_with_an_actionable_message(client):
    name = _name()
    cases = [
        (pb.CreatePromptVersionRequest(name="Bad Name!", content=_chat()), "not a valid name"),
        (
            pb.CreatePromptVersionRequest(
                name=name, content=pb.PromptContent(type=pb.PROMPT_TYPE_TEXT)
            ),
            "empty",
        ),
        (
            pb.CreatePromptVersionRequest(
                name=name,
                content=pb.PromptContent(type=pb.PROMPT_TYPE_TEXT, template="x" * 100_001),
            ),
            "limit is 100000",
        ),
        (
            pb.CreatePromptVersionRequest(
                name=name,
                content=pb.PromptContent(type=pb.PROMPT_TYPE_TEXT, template="Hi {{ name "),
            ),
            "never closed",
        ),
        (
            pb.CreatePromptVersionRequest(
                name=name, content=pb.PromptContent(type=pb.PROMPT_TYPE_TEXT, template="Hi name }}")
            ),
            "without a matching",
        ),
        (
            pb.CreatePromptVersionRequest(
                name=name,
                content=pb.PromptContent(type=pb.PROMPT_TYPE_TEXT, template="Hi {{ 1x }}"),
            ),
            "is not a variable",
        ),
        (pb.CreatePromptVersionRequest(name=name, content=pb.PromptContent()), "text or chat"),
    ]
    for request, message in cases:
        with pytest.raises(InvalidArgumentError, match=message):
            await client.rpc.CreatePromptVersion(request)
    # Nothing was stored by the failed calls.
    with pytest.raises(NotFoundError, match="does not exist"):
        await client.rpc.ResolvePrompt(pb.ResolvePromptRequest(name=name, label="latest"))


async def test_missing_things_are_not_found_and_never_fall_back(client):
    name = _name()
    await client.rpc.CreatePromptVersion(pb.CreatePromptVersionRequest(name=name, content=_chat()))
    with pytest.raises(NotFoundError, match="no label 'production'"):
        await client.rpc.ResolvePrompt(pb.ResolvePromptRequest(name=name, label="production"))
    with pytest.raises(NotFoundError, match="versions are 1 to 1"):
        await client.rpc.GetPromptVersion(pb.GetPromptVersionRequest(name=name, version=7))
    with pytest.raises(NotFoundError, match="label 'staging' was not moved|no version 9"):
        await client.rpc.SetLabel(pb.SetLabelRequest(name=name, label="staging", version=9))
    with pytest.raises(
        InvalidArgumentError, match="missing value for variable\\(s\\): context, question"
    ):
        await client.rpc.RenderPrompt(pb.RenderPromptRequest(name=name, version=1))


async def test_errors_carry_error_info_on_the_wire(settings):
    async with (
        serving(create_server(settings)) as address,
        grpc.aio.insecure_channel(address) as channel,
    ):
        from llmops.v1 import prompt_registry_pb2_grpc

        stub = prompt_registry_pb2_grpc.PromptRegistryServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.ResolvePrompt(pb.ResolvePromptRequest(name="nope/missing"))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    keys = [key for key, _ in caught.value.trailing_metadata()]
    assert "grpc-status-details-bin" in keys


async def test_a_request_over_the_message_limit_is_resource_exhausted(client):
    name = _name()
    huge = pb.PromptContent(type=pb.PROMPT_TYPE_TEXT, template="x" * (5 * 1024 * 1024))
    with pytest.raises(ResourceExhaustedError, match="larger than max"):
        await client.rpc.CreatePromptVersion(pb.CreatePromptVersionRequest(name=name, content=huge))
    with pytest.raises(NotFoundError, match="does not exist"):
        await client.rpc.ResolvePrompt(pb.ResolvePromptRequest(name=name, label="latest"))


async def _redis_commands(url: str) -> dict[str, int]:
    """Calls per Redis command so far (commands run by scripts included)."""
    connection = redis.Redis.from_url(url)
    try:
        stats = await connection.info("commandstats")
    finally:
        await connection.aclose()
    return {key.removeprefix("cmdstat_"): value["calls"] for key, value in stats.items()}


@pytest.fixture
async def private_registry(settings, tmp_path):
    """A registry on a redis-server of its own: command statistics are server-wide, and the
    shared test Redis also serves other test processes."""
    port = free_port()
    process = await start_redis(port, tmp_path / "redis", log_path=tmp_path / "redis.log")
    url = f"redis://127.0.0.1:{port}/0"
    own = settings.model_copy(update={"redis": settings.redis.model_copy(update={"url": url})})
    try:
        async with serving(create_server(own)) as address, PromptRegistryClient(address) as client:
            yield client, url
    finally:
        process.stop()


async def test_resolve_and_render_are_one_redis_command_each(private_registry):
    client, redis_url = private_registry
    name = _name()
    await client.rpc.CreatePromptVersion(pb.CreatePromptVersionRequest(name=name, content=_chat()))
    await client.rpc.SetLabelSplit(
        pb.SetLabelSplitRequest(
            name=name, label="production", splits=[pb.LabelSplit(version=1, weight=1)]
        )
    )
    await client.rpc.ResolvePrompt(pb.ResolvePromptRequest(name=name))  # loads the script
    first = await _redis_commands(redis_url)
    idle = await _redis_commands(redis_url)  # what reading the statistics costs
    for index in range(10):
        await client.rpc.ResolvePrompt(pb.ResolvePromptRequest(name=name, sticky_key=str(index)))
        await client.rpc.RenderPrompt(
            pb.RenderPromptRequest(name=name, variables={"context": "c", "question": "q"})
        )
    after = await _redis_commands(redis_url)
    delta = {command: after[command] - idle.get(command, 0) for command in after}
    overhead = {command: idle[command] - first.get(command, 0) for command in idle}
    calls = {c: n - overhead.get(c, 0) for c, n in delta.items() if n - overhead.get(c, 0)}
    # One EVALSHA per request; inside it the script reads the labels and the version.
    assert calls == {"evalsha": 20, "hgetall": 20, "hget": 20}
