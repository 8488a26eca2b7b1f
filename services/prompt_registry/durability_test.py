"""Concurrency and durability: concurrent clients lose nothing, and a Redis kill -9 loses nothing
acknowledged (AOF with appendfsync always)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time

import grpc
import pytest

from llmops.v1 import prompt_registry_pb2 as pb
from llmops.v1 import prompt_registry_pb2_grpc
from llmops_core import Settings
from llmops_core.errors import FailedPreconditionError, UnavailableError
from llmops_core.testing import serving
from llmops_sdk import PromptRegistryClient
from llmops_stack._process import free_port, pid_alive
from llmops_stack.redis_server import start_redis
from prompt_registry.main import create_server
from prompt_registry.testing import prompt_with_versions, push, text, unique_name


@contextlib.asynccontextmanager
async def _clients(address: str, count: int):
    """``count`` clients, each with its own connection."""
    clients = [PromptRegistryClient(address) for _ in range(count)]
    try:
        yield clients
    finally:
        for client in clients:
            await client.close()


@pytest.fixture
async def served(settings):
    async with serving(create_server(settings)) as address:
        yield address


async def test_twenty_concurrent_pushes_get_versions_1_to_20(served):
    name = unique_name("race")
    async with _clients(served, 20) as clients:
        created = await asyncio.gather(
            *(
                push(client, name, text(f"content {index}"), author=f"writer-{index}")
                for index, client in enumerate(clients)
            )
        )
        assert sorted(version.version for version in created) == list(range(1, 21))
        check = clients[0]
        for version in created:  # each content is stored under the number it was given
            stored = await check.rpc.GetPromptVersion(
                pb.GetPromptVersionRequest(name=name, version=version.version)
            )
            assert stored.version.content.template == version.content.template
            assert stored.version.author == version.author
        events = await check.rpc.ListAuditEvents(
            pb.ListAuditEventsRequest(prompt_name=name, page_size=100)
        )
        assert sorted(e.version for e in events.events) == list(range(1, 21))
        latest = await check.rpc.ResolvePrompt(pb.ResolvePromptRequest(name=name, label="latest"))
        assert latest.version.version == 20


async def test_concurrent_pushes_of_the_same_content_make_one_version(served):
    name = unique_name("same")
    async with _clients(served, 20) as clients:
        responses = await asyncio.gather(
            *(
                client.rpc.CreatePromptVersion(
                    pb.CreatePromptVersionRequest(name=name, content=text("identical"))
                )
                for client in clients
            )
        )
    assert {r.version.version for r in responses} == {1}
    assert sum(r.created for r in responses) == 1


async def test_fifty_concurrent_compare_and_set_moves_have_one_winner_per_round(served):
    async with _clients(served, 50) as clients:
        name = await prompt_with_versions(clients[0], 5, folder="cas")
        await clients[0].rpc.SetLabel(
            pb.SetLabelRequest(name=name, label="production", version=1, expected_version=0)
        )
        current = 1
        for _round in range(5):
            # Every mover targets another version than the current one (a move to the
            # current version would leave the expectation true for the next mover).
            targets = [version for version in range(1, 6) if version != current]
            outcomes = await asyncio.gather(
                *(
                    client.rpc.SetLabel(
                        pb.SetLabelRequest(
                            name=name,
                            label="production",
                            version=targets[index % len(targets)],
                            expected_version=current,
                            author=f"mover-{index}",
                        )
                    )
                    for index, client in enumerate(clients)
                ),
                return_exceptions=True,
            )
            winners = [o for o in outcomes if not isinstance(o, BaseException)]
            losers = [o for o in outcomes if isinstance(o, BaseException)]
            assert len(winners) == 1
            assert all(isinstance(o, FailedPreconditionError) for o in losers)
            assert all(o.reason == "LABEL_VERSION_MISMATCH" for o in losers)
            current = winners[0].label.version
            resolved = await clients[0].rpc.ResolvePrompt(
                pb.ResolvePromptRequest(name=name, label="production")
            )
            assert resolved.version.version == current
        history = await clients[0].rpc.ListLabelHistory(
            pb.ListLabelHistoryRequest(name=name, label="production")
        )
        assert len(history.events) == 6  # the first set and one winner per round


async def test_nothing_acknowledged_is_lost_when_redis_is_killed(tmp_path, settings):
    port = free_port()
    folder = tmp_path / "redis"
    log = folder / "redis.log"
    process = await start_redis(port, folder, log_path=log, appendfsync="always")
    data = settings.model_dump()
    data["redis"]["url"] = f"redis://127.0.0.1:{port}/0"
    durable = Settings.model_validate(data)
    try:
        async with (
            serving(create_server(durable)) as address,
            PromptRegistryClient(address, timeout=10) as client,
        ):
            name = "durable/answer"
            for index in range(1, 6):
                await push(
                    client, name, text(f"v{index}"), author="ana", commit_message=f"c{index}"
                )
            await client.rpc.SetLabel(pb.SetLabelRequest(name=name, label="production", version=3))
            await client.rpc.SetLabelSplit(
                pb.SetLabelSplitRequest(
                    name=name,
                    label="canary",
                    splits=[pb.LabelSplit(version=4, weight=9), pb.LabelSplit(version=5, weight=1)],
                )
            )
            await client.rpc.ProtectLabel(
                pb.ProtectLabelRequest(name=name, label="production", protected=True)
            )
            await client.rpc.SetPromotionGate(
                pb.SetPromotionGateRequest(
                    name=name,
                    label="canary",
                    gate=pb.PromotionGate(
                        require_evaluation=True, metric="accuracy", min_score=0.9
                    ),
                )
            )
            before_labels = (await client.rpc.ListLabels(pb.ListLabelsRequest(name=name))).labels
            before_audit = (
                await client.rpc.ListAuditEvents(pb.ListAuditEventsRequest(prompt_name=name))
            ).events
            watch = prompt_registry_pb2_grpc.PromptRegistryServiceStub(client.channel).WatchPrompts(
                pb.WatchPromptsRequest(prefix=name)
            )
            await asyncio.wait_for(watch.initial_metadata(), 5)

            os.kill(process.pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while pid_alive(process.pid) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert not pid_alive(process.pid)
            with pytest.raises(UnavailableError, match="unreachable"):
                await client.rpc.ResolvePrompt(pb.ResolvePromptRequest(name=name))
            with pytest.raises(UnavailableError):
                await push(client, name, text("lost?"))
            # A watch ends with UNAVAILABLE; the watcher resumes after the last event it saw.
            with pytest.raises(grpc.aio.AioRpcError) as ended:
                await asyncio.wait_for(watch.read(), 10)
            assert ended.value.code() == grpc.StatusCode.UNAVAILABLE
            assert "after_event_id" in ended.value.details()

            process = await start_redis(port, folder, log_path=log, appendfsync="always")
            # The same registry, without a restart, serves again: connections are re-made
            # and the scripts, gone with Redis's script cache, are loaded again.
            resolved = await client.rpc.ResolvePrompt(pb.ResolvePromptRequest(name=name))
            assert resolved.version.version == 3
            versions = await client.rpc.ListPromptVersions(pb.ListPromptVersionsRequest(name=name))
            assert [
                (v.version, v.content.template, v.commit_message) for v in versions.versions
            ] == [(index, f"v{index}", f"c{index}") for index in range(5, 0, -1)]
            after_labels = (await client.rpc.ListLabels(pb.ListLabelsRequest(name=name))).labels
            assert list(after_labels) == list(before_labels)
            after_audit = (
                await client.rpc.ListAuditEvents(pb.ListAuditEventsRequest(prompt_name=name))
            ).events
            assert list(after_audit) == list(before_audit)
            assert len(after_audit) == 9
            # And it keeps working: the next version is 6, and a watcher that resumes from
            # the last event it saw gets it.
            resumed = prompt_registry_pb2_grpc.PromptRegistryServiceStub(
                client.channel
            ).WatchPrompts(
                pb.WatchPromptsRequest(prefix=name, after_event_id=before_audit[0].event_id)
            )
            await asyncio.wait_for(resumed.initial_metadata(), 5)
            assert (await push(client, name, text("v6"))).version == 6
            event = (await asyncio.wait_for(resumed.read(), 5)).event
            assert (event.type, event.version) == (pb.PROMPT_EVENT_TYPE_VERSION_CREATED, 6)
            resumed.cancel()
    finally:
        process.stop()
