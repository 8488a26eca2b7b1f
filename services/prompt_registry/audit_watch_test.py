"""The audit log and the watch stream over a real socket, on a real Redis stream."""

from __future__ import annotations

import asyncio
import statistics
import time

import grpc
import pytest
from google.protobuf import timestamp_pb2

from llmops.v1 import prompt_registry_pb2 as pb
from llmops.v1 import prompt_registry_pb2_grpc
from llmops_core.errors import InvalidArgumentError
from llmops_core.testing import serving
from llmops_sdk import PromptRegistryClient
from prompt_registry.main import create_server
from prompt_registry.testing import chat, prompt_with_versions, push, text, unique_name


async def _audit(client, **filters) -> list[pb.PromptEvent]:
    events, token = [], ""
    while True:
        page = await client.rpc.ListAuditEvents(
            pb.ListAuditEventsRequest(page_token=token, **filters)
        )
        events += page.events
        token = page.next_page_token
        if not token:
            return events


async def test_every_change_is_in_the_audit_log_with_who_what_and_why(client):
    name = unique_name()
    await push(client, name, text("one"), author="ana", commit_message="first")
    await push(client, name, text("one"), author="bob")  # idempotent: no event
    await push(client, name, text("two"), author="bob", commit_message="second")
    changes = [
        client.rpc.SetLabel(
            pb.SetLabelRequest(name=name, label="production", version=1, author="cy", reason="go")
        ),
        client.rpc.SetLabelSplit(
            pb.SetLabelSplitRequest(
                name=name,
                label="production",
                splits=[pb.LabelSplit(version=1, weight=1), pb.LabelSplit(version=2, weight=1)],
                author="cy",
                reason="a/b",
            )
        ),
        client.rpc.RollbackLabel(
            pb.RollbackLabelRequest(name=name, label="production", author="alert:x", reason="bad")
        ),
        client.rpc.ProtectLabel(
            pb.ProtectLabelRequest(
                name=name, label="production", protected=True, author="ops", reason="freeze"
            )
        ),
        client.rpc.SetPromotionGate(
            pb.SetPromotionGateRequest(
                name=name,
                label="production",
                gate=pb.PromotionGate(require_evaluation=True),
                allow_protected=True,
                author="ops",
                reason="gate",
            )
        ),
        client.rpc.DeleteLabel(
            pb.DeleteLabelRequest(
                name=name, label="production", allow_protected=True, author="ops", reason="bye"
            )
        ),
        client.rpc.DeletePrompt(pb.DeletePromptRequest(name=name, author="ops", reason="retired")),
    ]
    started = time.time()
    for change in changes:
        await change
    events = await _audit(client, prompt_name=name)
    summary = [(e.type, e.version, e.label, e.previous_version, e.author, e.reason) for e in events]
    assert summary == [
        (pb.PROMPT_EVENT_TYPE_PROMPT_DELETED, 0, "", 2, "ops", "retired"),
        (pb.PROMPT_EVENT_TYPE_LABEL_DELETED, 0, "production", 1, "ops", "bye"),
        (pb.PROMPT_EVENT_TYPE_PROMOTION_GATE_CHANGED, 1, "production", 1, "ops", "gate"),
        (pb.PROMPT_EVENT_TYPE_LABEL_PROTECTION_CHANGED, 1, "production", 1, "ops", "freeze"),
        (pb.PROMPT_EVENT_TYPE_LABEL_ROLLED_BACK, 1, "production", 1, "alert:x", "bad"),
        (pb.PROMPT_EVENT_TYPE_LABEL_SPLIT, 1, "production", 1, "cy", "a/b"),
        (pb.PROMPT_EVENT_TYPE_LABEL_SET, 1, "production", 0, "cy", "go"),
        (pb.PROMPT_EVENT_TYPE_VERSION_CREATED, 2, "latest", 1, "bob", "second"),
        (pb.PROMPT_EVENT_TYPE_VERSION_CREATED, 1, "latest", 0, "ana", "first"),
    ]
    assert all(e.prompt_name == name for e in events)
    assert [e.event_id for e in events] == sorted(
        (e.event_id for e in events), key=lambda i: tuple(map(int, i.split("-"))), reverse=True
    )
    assert all(started - 60 < e.event_time.ToSeconds() <= time.time() + 1 for e in events)


async def test_audit_filters_and_pages(client):
    first = await prompt_with_versions(client, 2, folder="audit")
    second = await prompt_with_versions(client, 1, folder="audit")
    await client.rpc.SetLabel(
        pb.SetLabelRequest(name=first, label="production", version=1, author="ana")
    )
    await client.rpc.SetLabel(
        pb.SetLabelRequest(name=first, label="staging", version=2, author="bob")
    )
    every = await _audit(client, prompt_name=first, page_size=1)
    assert len(every) == 4
    by_type = await _audit(
        client, prompt_name=first, types=[pb.PROMPT_EVENT_TYPE_LABEL_SET], page_size=1
    )
    assert [e.label for e in by_type] == ["staging", "production"]
    assert [e.label for e in await _audit(client, prompt_name=first, author="ana")] == [
        "production"
    ]
    assert [e.version for e in await _audit(client, prompt_name=first, label="latest")] == [2, 1]
    across = await _audit(client, types=[pb.PROMPT_EVENT_TYPE_VERSION_CREATED], page_size=50)
    assert {first, second} <= {e.prompt_name for e in across}
    # Time windows: start inclusive, end exclusive, on the events' own times.
    boundary = every[1].event_time  # the second newest event
    newer = await _audit(client, prompt_name=first, start_time=boundary)
    older = await _audit(client, prompt_name=first, end_time=boundary)
    assert len(newer) + len(older) == 4
    assert all(e.event_time.ToMilliseconds() >= boundary.ToMilliseconds() for e in newer)
    assert all(e.event_time.ToMilliseconds() < boundary.ToMilliseconds() for e in older)
    page = await client.rpc.ListAuditEvents(
        pb.ListAuditEventsRequest(prompt_name=first, page_size=1)
    )
    with pytest.raises(InvalidArgumentError, match="other filters"):
        await client.rpc.ListAuditEvents(
            pb.ListAuditEventsRequest(prompt_name=second, page_token=page.next_page_token)
        )
    bad = [
        pb.ListAuditEventsRequest(label="production"),
        pb.ListAuditEventsRequest(types=[pb.PROMPT_EVENT_TYPE_UNSPECIFIED]),
        pb.ListAuditEventsRequest(types=[42]),
        pb.ListAuditEventsRequest(
            start_time=timestamp_pb2.Timestamp(seconds=20),
            end_time=timestamp_pb2.Timestamp(seconds=10),
        ),
        pb.ListAuditEventsRequest(page_token="nope"),
        pb.ListAuditEventsRequest(page_size=-3),
        pb.ListAuditEventsRequest(prompt_name="Not A Name"),
    ]
    for request in bad:
        with pytest.raises(InvalidArgumentError):
            await client.rpc.ListAuditEvents(request)


def _stub(client: PromptRegistryClient) -> prompt_registry_pb2_grpc.PromptRegistryServiceStub:
    return prompt_registry_pb2_grpc.PromptRegistryServiceStub(client.channel)


async def _watch(client, **fields):
    """A watch call that is subscribed when this returns (initial metadata arrived)."""
    call = _stub(client).WatchPrompts(pb.WatchPromptsRequest(**fields))
    await asyncio.wait_for(call.initial_metadata(), 5)
    return call


async def _next_event(call, timeout: float = 5.0) -> pb.PromptEvent:
    message = await asyncio.wait_for(call.read(), timeout)
    assert message is not grpc.aio.EOF
    return message.event


async def test_a_watcher_sees_a_change_within_milliseconds(client):
    name = await prompt_with_versions(client, 2, folder="watched")
    call = await _watch(client, prefix=name)
    delays = []
    try:
        for round_ in range(20):
            started = time.perf_counter()
            await client.rpc.SetLabel(
                pb.SetLabelRequest(name=name, label="production", version=1 + round_ % 2)
            )
            event = await _next_event(call)
            delays.append(time.perf_counter() - started)
            assert (event.type, event.prompt_name, event.label) == (
                pb.PROMPT_EVENT_TYPE_LABEL_SET,
                name,
                "production",
            )
            assert event.version == 1 + round_ % 2
    finally:
        call.cancel()
    # Measured from before the change's own RPC: both round trips are included.
    assert statistics.median(delays) < 0.05, delays


async def test_watch_filters_by_prefix_and_resumes_after_an_event_id(client):
    folder = unique_name("watch")
    call = await _watch(client, prefix=folder + "/")
    try:
        await push(client, unique_name("elsewhere"), text("ignored"))
        await push(client, f"{folder}/a", text("a1"))
        first = await _next_event(call)
        assert (first.prompt_name, first.version) == (f"{folder}/a", 1)
        await push(client, f"{folder}/a", text("a2"))
        await push(client, f"{folder}/b", text("b1"))
        seen = [await _next_event(call), await _next_event(call)]
        assert [(e.prompt_name, e.version) for e in seen] == [
            (f"{folder}/a", 2),
            (f"{folder}/b", 1),
        ]
    finally:
        call.cancel()
    # Replay from the first event, then live events, with no gap and no duplicate.
    resumed = await _watch(client, prefix=folder + "/", after_event_id=first.event_id)
    try:
        replayed = [await _next_event(resumed), await _next_event(resumed)]
        assert [e.event_id for e in replayed] == [e.event_id for e in seen]
        await push(client, f"{folder}/c", text("c1"))
        live = await _next_event(resumed)
        assert (live.prompt_name, live.version) == (f"{folder}/c", 1)
    finally:
        resumed.cancel()


async def test_bad_resume_ids_are_invalid_argument(client):
    await push(client, unique_name(), chat())
    for after, message in (("yesterday", "not an event id"), ("99999999999999-0", "newer than")):
        with pytest.raises(InvalidArgumentError, match=message):
            async for _ in client.rpc.WatchPrompts(
                pb.WatchPromptsRequest(after_event_id=after), timeout=5
            ):
                pass
    with pytest.raises(InvalidArgumentError, match="cannot start a prompt name"):
        async for _ in client.rpc.WatchPrompts(pb.WatchPromptsRequest(prefix="UP"), timeout=5):
            pass


async def test_many_watchers_share_one_reader_and_cancelling_unsubscribes(settings):
    server = create_server(settings)
    hub = server.bindings[0].servicer.registry.store._hub
    async with serving(server) as address, PromptRegistryClient(address) as client:
        name = unique_name("fanout")
        calls = [await _watch(client, prefix=name) for _ in range(50)]
        assert len(hub._subscribers) == 50
        await push(client, name, text("hello"))
        events = await asyncio.gather(*(_next_event(call) for call in calls))
        assert {(e.prompt_name, e.version) for e in events} == {(name, 1)}
        for call in calls:
            call.cancel()
        deadline = time.monotonic() + 5
        while hub._subscribers and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert not hub._subscribers
        # With no watcher left, the reader stops after its current XREAD.
        while hub._reader is not None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert hub._reader is None
        # A new watcher starts a new reader.
        again = await _watch(client, prefix=name)
        await push(client, name, text("again"))
        assert (await _next_event(again)).version == 2
        again.cancel()
