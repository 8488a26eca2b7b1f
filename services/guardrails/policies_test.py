"""Versioned guardrail policies through the guardrails service, on a real socket and Redis:
versions, labels with compare-and-set, protection, rollback, audit, diff and resolving."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as redis

from guardrails.main import create_server
from guardrails.policy_testing import (
    BLOCK,
    create,
    policy,
    policy_with_versions,
    registry,
    unique_name,
)
from llmops.v1 import guardrails_pb2 as pb
from llmops_core.errors import (
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    UnavailableError,
)
from llmops_core.testing import capture_logs, serving
from llmops_sdk import GuardrailsClient, all_pages
from llmops_stack._process import free_port
from llmops_stack.redis_server import start_redis


@pytest.fixture
async def client(settings):
    async with serving(create_server(settings)) as address, GuardrailsClient(address) as client:
        yield client


async def _labels(client, name: str) -> dict[str, int]:
    response = await client.rpc.ListPolicyLabels(pb.ListPolicyLabelsRequest(name=name))
    return {label.name: label.version for label in response.labels}


async def _set(client, name: str, label: str, version: int, **fields) -> pb.PolicyLabel:
    request = pb.SetPolicyLabelRequest(name=name, label=label, version=version, **fields)
    return (await client.rpc.SetPolicyLabel(request)).label


async def _events(client, name: str = "", label: str = "", page_size: int = 0):
    request = pb.ListPolicyEventsRequest(name=name, label=label, page_size=page_size)
    return await all_pages(client.rpc.ListPolicyEvents, request, "events")


# --- versions -------------------------------------------------------------------------------


async def test_versions_are_immutable_and_equal_content_finds_the_existing_version(client):
    name = unique_name()
    first = await create(client, policy(name))
    assert first.created and first.policy.version == 1
    assert list(first.policy.labels) == ["latest"]
    again = await create(client, policy(name, commit_message="same settings, other words"))
    assert not again.created and again.policy.version == 1
    assert again.policy.commit_message == "first cut"  # the stored version, unchanged
    assert again.policy.content_hash == first.policy.content_hash
    second = await create(client, policy(name, threshold=0.9))
    assert second.created and second.policy.version == 2
    assert second.policy.content_hash != first.policy.content_hash
    # What was stored reads back as it was sent: thresholds, actions, options, times.
    stored = (await client.rpc.GetPolicy(pb.GetPolicyRequest(name=name, version=1))).policy
    assert [(c.check, round(c.threshold, 6), c.action) for c in stored.input_checks] == [
        ("prompt-injection", 0.5, BLOCK),
        ("size-limit", 0.0, BLOCK),
    ]
    assert dict(stored.input_checks[1].options) == {"max_chars": 4000}
    assert stored.output_checks[1].failure_mode == pb.FAILURE_MODE_OPEN
    assert stored.time_budget.ToMilliseconds() == 1500
    assert (stored.author, stored.description) == ("ana", "Test policy.")
    assert list(stored.labels) == []  # "latest" moved on to version 2
    newest = (await client.rpc.GetPolicy(pb.GetPolicyRequest(name=name))).policy
    assert newest.version == 2 and list(newest.labels) == ["latest"]


async def test_list_policies_and_versions_page_through_everything(client):
    three = await policy_with_versions(client, 3)
    one = await policy_with_versions(client, 1)
    policies = await all_pages(
        client.rpc.ListPolicies, pb.ListPoliciesRequest(page_size=1), "policies"
    )
    listed = {p.name: p.version for p in policies}
    assert (listed[three], listed[one], listed["default"]) == (3, 1, 1)
    assert [p.name for p in policies] == sorted(listed)
    versions = await all_pages(
        client.rpc.ListPolicyVersions,
        pb.ListPolicyVersionsRequest(name=three, page_size=2),
        "policies",
    )
    assert [v.version for v in versions] == [3, 2, 1]
    assert [list(v.labels) for v in versions] == [["latest"], [], []]


# --- labels ---------------------------------------------------------------------------------


async def test_compare_and_set_has_exactly_one_winner_under_concurrency(client):
    name = await policy_with_versions(client, 8)
    results = await asyncio.gather(
        *(_set(client, name, "production", v, expected_version=0) for v in range(1, 9)),
        return_exceptions=True,
    )
    winners = [r for r in results if isinstance(r, pb.PolicyLabel)]
    losers = [r for r in results if isinstance(r, FailedPreconditionError)]
    assert len(winners) == 1 and len(losers) == 7
    assert (await _labels(client, name))["production"] == winners[0].version
    assert all(loser.reason == "LABEL_VERSION_MISMATCH" for loser in losers)
    assert all(f"points at version {winners[0].version}" in str(loser) for loser in losers)
    # Moving on from the winner with the right expectation works once more.
    moved = await _set(client, name, "production", 8, expected_version=winners[0].version)
    assert moved.version == 8


async def test_latest_cannot_be_moved_and_labels_must_point_at_existing_versions(client):
    name = await policy_with_versions(client, 2)
    with pytest.raises(InvalidArgumentError, match="follows every new version"):
        await _set(client, name, "latest", 1)
    with pytest.raises(NotFoundError, match=r"has no version 7 \(its versions are 1 to 2\)"):
        await _set(client, name, "production", 7)


async def test_protected_labels_move_only_when_allowed(client):
    name = await policy_with_versions(client, 3)
    await _set(client, name, "production", 1, author="ana")
    protected = await client.rpc.ProtectPolicyLabel(
        pb.ProtectPolicyLabelRequest(
            name=name, label="production", protected=True, author="sec-team", reason="freeze"
        )
    )
    assert protected.label.protected
    events = await _events(client, name, "production")
    assert events[0].type == pb.POLICY_EVENT_TYPE_LABEL_PROTECTION_CHANGED
    assert (events[0].author, events[0].reason) == ("sec-team", "freeze")
    with pytest.raises(FailedPreconditionError, match="is protected") as refused:
        await _set(client, name, "production", 2)
    assert refused.value.reason == "LABEL_PROTECTED"
    with pytest.raises(FailedPreconditionError, match="is protected"):
        await client.rpc.RollbackPolicyLabel(
            pb.RollbackPolicyLabelRequest(name=name, label="production", version=1)
        )
    assert (await _labels(client, name))["production"] == 1
    moved = await _set(client, name, "production", 2, allow_protected=True, author="sec-team")
    assert (moved.version, moved.protected) == (2, True)


async def test_rollback_walks_back_through_the_moves_then_refuses(client):
    name = await policy_with_versions(client, 3)
    for version in (1, 2, 3):
        await _set(client, name, "production", version, author="ana", reason=f"ship {version}")

    async def rollback(**fields) -> pb.RollbackPolicyLabelResponse:
        request = pb.RollbackPolicyLabelRequest(
            name=name, label="production", author="oncall", reason="alert", **fields
        )
        return await client.rpc.RollbackPolicyLabel(request)

    first = await rollback()
    assert (first.label.version, first.previous_version) == (2, 3)
    second = await rollback()
    assert (second.label.version, second.previous_version) == (1, 2)
    with pytest.raises(FailedPreconditionError, match="no earlier version to roll back to"):
        await rollback()
    explicit = await rollback(version=3, expected_version=1)
    assert (explicit.label.version, explicit.previous_version) == (3, 1)
    with pytest.raises(FailedPreconditionError, match="not version 2 as expected"):
        await rollback(version=1, expected_version=2)


# --- audit ----------------------------------------------------------------------------------


async def test_history_and_audit_record_who_did_what_newest_first(client):
    name = await policy_with_versions(client, 2)
    await _set(client, name, "production", 1, author="ana", reason="first release")
    await _set(client, name, "staging", 2, author="bob", reason="try it")
    await _set(client, name, "production", 2, author="carol", reason="promote")
    await client.rpc.RollbackPolicyLabel(
        pb.RollbackPolicyLabelRequest(name=name, label="production", author="dan", reason="alert")
    )
    events = await _events(client, name, page_size=2)
    assert [(e.type, e.label, e.version, e.previous_version, e.author) for e in events] == [
        (pb.POLICY_EVENT_TYPE_LABEL_ROLLED_BACK, "production", 1, 2, "dan"),
        (pb.POLICY_EVENT_TYPE_LABEL_SET, "production", 2, 1, "carol"),
        (pb.POLICY_EVENT_TYPE_LABEL_SET, "staging", 2, 0, "bob"),
        (pb.POLICY_EVENT_TYPE_LABEL_SET, "production", 1, 0, "ana"),
        (pb.POLICY_EVENT_TYPE_VERSION_CREATED, "latest", 2, 1, "ana"),
        (pb.POLICY_EVENT_TYPE_VERSION_CREATED, "latest", 1, 0, "ana"),
    ]
    assert [e.reason for e in events[:4]] == ["alert", "promote", "try it", "first release"]
    assert all(e.policy_name == name and e.event_time.seconds > 0 for e in events)
    history = await _events(client, name, "production", page_size=1)
    assert [(e.version, e.author) for e in history] == [(1, "dan"), (2, "carol"), (1, "ana")]
    # The log across policies holds these too, newest first.
    everything = await _events(client)
    ids = [e.event_id for e in everything if e.policy_name == name]
    assert ids == [e.event_id for e in events]
    with pytest.raises(InvalidArgumentError, match="give the policy name too"):
        await _events(client, label="production")


# --- diff -----------------------------------------------------------------------------------


async def test_diff_shows_the_yaml_and_every_changed_setting(client):
    name = unique_name()
    await create(client, policy(name))
    changed = policy(name, threshold=0.9, max_chars=8000)
    del changed.output_checks[1]
    listed = await client.rpc.ListChecks(pb.ListChecksRequest())
    [category, *_] = [c for c in listed.checks if c.name == "prompt-injection"][0].categories
    changed.input_checks[0].category_actions[category] = BLOCK
    await create(client, changed)
    response = await client.rpc.DiffPolicyVersions(
        pb.DiffPolicyVersionsRequest(name=name, from_version=1, to_version=2)
    )
    assert list(response.changed_fields) == [
        f"input_checks.prompt-injection.category_actions.{category}",
        "input_checks.prompt-injection.threshold",
        "input_checks.size-limit.options.max_chars",
        "output_checks.pii",
    ]
    diff = response.unified_diff
    assert diff.startswith(f"--- {name}@1\n+++ {name}@2\n")
    assert "-  threshold: 0.5" in diff and "+  threshold: 0.9" in diff
    assert "-    max_chars: 4000" in diff and "+    max_chars: 8000" in diff
    assert "-- check: pii" in diff
    assert (response.from_policy.version, response.to_policy.version) == (1, 2)
    same = await client.rpc.DiffPolicyVersions(
        pb.DiffPolicyVersionsRequest(name=name, from_version=2, to_version=2)
    )
    assert same.unified_diff == "" and list(same.changed_fields) == []


# --- resolving ------------------------------------------------------------------------------


async def test_resolve_by_version_label_and_default_label(client, settings):
    name = await policy_with_versions(client, 3)
    policies, store = registry(settings)
    try:
        # No "production" yet: the default label falls back to "latest".
        assert (await policies.resolve(name)).version == 3
        await _set(client, name, "production", 1)
        await _set(client, name, "staging", 2)
        assert (await policies.resolve(name)).version == 1
        assert (await policies.resolve(name, label="staging")).version == 2
        assert (await policies.resolve(name, label="latest")).version == 3
        by_version = await policies.resolve(name, version=2)
        assert by_version.ref == f"{name}@2"
        assert by_version.input_checks[0].threshold == pytest.approx(0.2)
        assert await policies.resolve(name, version=2) is by_version  # cached, immutable
        assert (await policies.resolve("")).ref == "default@1"
        # A label move is seen by the next resolve.
        await _set(client, name, "production", 3)
        assert (await policies.resolve(name)).version == 3
        with pytest.raises(NotFoundError, match=r"has no label 'canary' \(its labels: "):
            await policies.resolve(name, label="canary")
    finally:
        await store.close()


async def test_checks_run_under_the_resolved_policy_and_name_it(client):
    name = await policy_with_versions(client, 2)
    await _set(client, name, "production", 1)
    checks = [
        ("", 0, "", "default", 1),
        (name, 0, "", name, 1),
        (name, 2, "", name, 2),
        (name, 0, "latest", name, 2),
    ]
    for policy_name, version, label, expected_name, expected_version in checks:
        decision = (
            await client.rpc.CheckInput(
                pb.CheckInputRequest(
                    text="What is Redis?",
                    policy=policy_name,
                    policy_version=version,
                    policy_label=label,
                )
            )
        ).decision
        assert (decision.policy, decision.policy_version) == (expected_name, expected_version)


async def test_unknown_policies_and_versions_are_not_found_naming_what_exists(client):
    name = await policy_with_versions(client, 3)
    with pytest.raises(
        NotFoundError, match="policy 'no-such' does not exist; the policies are"
    ) as e:
        await client.rpc.GetPolicy(pb.GetPolicyRequest(name="no-such"))
    assert "default" in str(e.value) and name in str(e.value)
    assert e.value.reason == "POLICY_NOT_FOUND"
    with pytest.raises(NotFoundError, match=r"has no version 9; its versions are 1 to 3"):
        await client.rpc.GetPolicy(pb.GetPolicyRequest(name=name, version=9))
    for call, request in (
        ("CheckInput", pb.CheckInputRequest(text="hi", policy="no-such")),
        ("ListPolicyVersions", pb.ListPolicyVersionsRequest(name="no-such")),
        ("ListPolicyLabels", pb.ListPolicyLabelsRequest(name="no-such")),
        ("ListPolicyEvents", pb.ListPolicyEventsRequest(name="no-such")),
        ("SetPolicyLabel", pb.SetPolicyLabelRequest(name="no-such", label="x", version=1)),
    ):
        with pytest.raises(NotFoundError, match="the policies are .*default") as e:
            await getattr(client.rpc, call)(request)
        assert e.value.reason == "POLICY_NOT_FOUND", call
    with pytest.raises(NotFoundError, match="its versions are 1 to 3"):
        await client.rpc.CheckInput(pb.CheckInputRequest(text="hi", policy=name, policy_version=4))


# --- the default policy ---------------------------------------------------------------------


async def test_the_default_policy_comes_from_the_service_config_once(settings):
    settings.guardrails.default_policy = unique_name("default")
    settings.guardrails.input_guards[1].config = {"threshold": 0.7, "fail_open": True}
    servers = [create_server(settings) for _ in range(3)]
    # Three workers start at once, then one restarts: one version, one label move.
    ports = await asyncio.gather(*(server.start() for server in servers))
    try:
        async with serving(create_server(settings)) as address, GuardrailsClient(address) as c:
            name = settings.guardrails.default_policy
            stored = (await c.rpc.GetPolicy(pb.GetPolicyRequest(name=name))).policy
            assert stored.version == 1 and sorted(stored.labels) == ["latest", "production"]
            assert [c.check for c in stored.input_checks] == [
                ref.plugin for ref in settings.guardrails.input_guards
            ]
            injection = stored.input_checks[1]
            assert round(injection.threshold, 6) == 0.7
            assert injection.failure_mode == pb.FAILURE_MODE_OPEN
            assert [c.check for c in stored.output_checks] == [
                ref.plugin for ref in settings.guardrails.output_guards
            ]
            events = await _events(c, name)
            assert [e.type for e in events] == [
                pb.POLICY_EVENT_TYPE_LABEL_SET,
                pb.POLICY_EVENT_TYPE_VERSION_CREATED,
            ]
            assert len(ports) == 3
        # A restart with other guard settings changes nothing, and says so.
        settings.guardrails.input_guards[1].config = {"threshold": 0.8}
        with capture_logs() as logs:
            async with serving(create_server(settings)) as address, GuardrailsClient(address) as c:
                stored = (await c.rpc.GetPolicy(pb.GetPolicyRequest(name=name))).policy
        assert stored.version == 1
        [warning] = [log for log in logs if log["log_level"] == "warning"]
        assert "differs from the service config" in warning["event"]
        assert warning["policy"] == f"{name}@1"
    finally:
        for server in servers:
            await server.stop(grace=0)


async def test_a_lost_default_policy_is_made_again_on_the_next_request(settings):
    settings.guardrails.default_policy = name = unique_name("default")
    async with serving(create_server(settings)) as address, GuardrailsClient(address) as client:
        connection = redis.Redis.from_url(settings.redis.url)
        keys = [key async for key in connection.scan_iter(match=f"llmops:policy:{name}:*")]
        assert len(keys) >= 5
        await connection.delete(*keys)  # as a flushed or replaced Redis would lose it
        await connection.aclose()
        decision = (
            await client.rpc.CheckInput(pb.CheckInputRequest(text="What is Redis?"))
        ).decision
        assert (decision.policy, decision.policy_version) == (name, 1)
        labels = await _labels(client, name)
        assert labels == {"latest": 1, "production": 1}


async def test_the_service_starts_without_redis_and_makes_the_default_policy_once_it_is_back(
    settings, tmp_path
):
    port = free_port()
    settings.redis.url = f"redis://127.0.0.1:{port}/0"
    async with serving(create_server(settings)) as address, GuardrailsClient(address) as client:
        with pytest.raises(UnavailableError):
            await client.rpc.CheckInput(pb.CheckInputRequest(text="What is Redis?"))
        process = await start_redis(port, tmp_path / "redis", log_path=tmp_path / "redis.log")
        try:
            decision = (
                await client.rpc.CheckInput(pb.CheckInputRequest(text="What is Redis?"))
            ).decision
            assert (decision.policy, decision.policy_version) == ("default", 1)
            assert await _labels(client, "default") == {"latest": 1, "production": 1}
        finally:
            process.stop()
