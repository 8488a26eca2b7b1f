"""Bad policy requests: each gets a canonical code and a message that says what to change, and
none of them changes anything stored."""

from __future__ import annotations

import pytest
import redis.asyncio as redis

from guardrails.main import create_server
from guardrails.policies import PolicyRegistry
from guardrails.policy import CheckSettings, PolicyVersion
from guardrails.policy_testing import BLOCK, create, policy, registry
from llmops.v1 import guardrails_pb2 as pb
from llmops_core.errors import (
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    ResourceExhaustedError,
)
from llmops_core.testing import redis_snapshot, serving
from llmops_sdk import GuardrailsClient

_NAME = "bad-input"  # created by the fixture: versions 1 and 2, production -> 1


def _with(change) -> pb.Policy:
    message = policy(_NAME, threshold=0.3)
    change(message)
    return message


def _check(stage: str, index: int, **fields):
    def change(message: pb.Policy) -> None:
        target = getattr(message, f"{stage}_checks")[index]
        for key, value in fields.items():
            if key == "options":
                target.options.update(value)
            elif key == "category_actions":
                target.category_actions.update(value)
            else:
                setattr(target, key, value)

    return change


def _add(stage: str, check: str):
    return lambda message: getattr(message, f"{stage}_checks").add(check=check)


def _set(field: str, value):
    return lambda message: setattr(message, field, value)


def _create(change):
    return "CreatePolicyVersion", pb.CreatePolicyVersionRequest(policy=_with(change))


BAD_REQUESTS = [
    # Names.
    (*_create(_set("name", "")), InvalidArgumentError, "name is empty"),
    (*_create(_set("name", "Bad Name!")), InvalidArgumentError, "not a valid policy name"),
    (*_create(_set("name", "a/b")), InvalidArgumentError, "not a valid policy name"),
    (*_create(_set("name", "x" * 101)), InvalidArgumentError, "at most 100 characters"),
    # Checks.
    (*_create(_add("input", "no-such-check")), InvalidArgumentError, "unknown check.*pii"),
    (*_create(_add("input", "groundedness")), InvalidArgumentError, "not at input"),
    (*_create(_add("input", "pii")), InvalidArgumentError, None),  # fine: a control
    (*_create(_add("input", "size-limit")), InvalidArgumentError, "appears twice"),
    (*_create(_check("input", 0, threshold=1.5)), InvalidArgumentError, "outside"),
    (*_create(_check("input", 0, threshold=float("nan"))), InvalidArgumentError, "outside"),
    (*_create(_check("input", 0, action=99)), InvalidArgumentError, "not a GuardAction"),
    (*_create(_check("input", 0, failure_mode=7)), InvalidArgumentError, "not a FailureMode"),
    (
        *_create(_check("input", 1, options={"max_chars": "lots"})),
        InvalidArgumentError,
        "max_chars",
    ),
    (*_create(_check("input", 1, options={"nope": 1})), InvalidArgumentError, "nope"),
    (
        *_create(_check("input", 1, options={"threshold": 0.2})),
        InvalidArgumentError,
        "belong on the check itself",
    ),
    (
        *_create(_check("output", 1, category_actions={"no.such.category": BLOCK})),
        InvalidArgumentError,
        "never reports",
    ),
    (*_create(_check("input", 0, category_actions={"x": 0})), InvalidArgumentError, "is unset"),
    # Policy settings.
    (*_create(_set("failure_mode", 5)), InvalidArgumentError, "not a FailureMode"),
    (
        *_create(lambda m: m.time_budget.FromMilliseconds(-5)),
        InvalidArgumentError,
        "time_budget_ms",
    ),
    (
        *_create(lambda m: m.time_budget.FromSeconds(3600)),
        InvalidArgumentError,
        "at most 60000",
    ),
    (
        *_create(lambda m: m.streaming.CopyFrom(pb.StreamingOptions(overlap_chars=500))),
        InvalidArgumentError,
        "overlap_chars",
    ),
    (*_create(_set("description", "x" * 5000)), InvalidArgumentError, "the limit is 4000"),
    (*_create(_set("author", "x" * 201)), InvalidArgumentError, "the limit is 200"),
    (*_create(_check("input", 1, options={"max_chars": 5})), InvalidArgumentError, None),
    # Labels.
    (
        "SetPolicyLabel",
        pb.SetPolicyLabelRequest(name=_NAME, label="latest", version=1),
        InvalidArgumentError,
        "follows every new version",
    ),
    (
        "SetPolicyLabel",
        pb.SetPolicyLabelRequest(name=_NAME, label="Prod!", version=1),
        InvalidArgumentError,
        "not a valid label name",
    ),
    (
        "SetPolicyLabel",
        pb.SetPolicyLabelRequest(name=_NAME, label="production", version=0),
        InvalidArgumentError,
        "give a version number",
    ),
    (
        "SetPolicyLabel",
        pb.SetPolicyLabelRequest(name=_NAME, label="production", version=2, expected_version=2),
        FailedPreconditionError,
        "points at version 1, not version 2",
    ),
    (
        "SetPolicyLabel",
        pb.SetPolicyLabelRequest(name=_NAME, label="production", version=9),
        NotFoundError,
        "its versions are 1 to 2",
    ),
    (
        "SetPolicyLabel",
        pb.SetPolicyLabelRequest(name=_NAME, label="production", version=2, reason="x" * 2001),
        InvalidArgumentError,
        "the limit is 2000",
    ),
    (
        "RollbackPolicyLabel",
        pb.RollbackPolicyLabelRequest(name=_NAME, label="production"),
        FailedPreconditionError,
        "no earlier version",
    ),
    (
        "RollbackPolicyLabel",
        pb.RollbackPolicyLabelRequest(name=_NAME, label="staging"),
        NotFoundError,
        "has no label 'staging'",
    ),
    (
        "GetPolicy",
        pb.GetPolicyRequest(name=_NAME, version=-1),
        InvalidArgumentError,
        "versions start at 1",
    ),
    (
        "DiffPolicyVersions",
        pb.DiffPolicyVersionsRequest(name=_NAME, from_version=0, to_version=2),
        InvalidArgumentError,
        "from_version is 0",
    ),
    (
        "ListPolicies",
        pb.ListPoliciesRequest(page_token="not-a-token"),
        InvalidArgumentError,
        "not a token this server issued",
    ),
    (
        "ListPolicyEvents",
        pb.ListPolicyEventsRequest(name=_NAME, page_size=-1),
        InvalidArgumentError,
        "page_size is -1",
    ),
    (
        "CheckInput",
        pb.CheckInputRequest(text="hi", policy=_NAME, policy_label="Bad Label"),
        InvalidArgumentError,
        "not a valid label name",
    ),
]


@pytest.fixture
async def client(settings):
    """The service, with policy _NAME made afresh: versions 1 and 2, production -> 1."""
    connection = redis.Redis.from_url(settings.redis.url)
    keys = [key async for key in connection.scan_iter(match=f"llmops:policy:{_NAME}:*")]
    if keys:
        await connection.delete(*keys)
    await connection.aclose()
    async with serving(create_server(settings)) as address, GuardrailsClient(address) as client:
        await create(client, policy(_NAME, threshold=0.1))
        await create(client, policy(_NAME, threshold=0.2))
        await client.rpc.SetPolicyLabel(
            pb.SetPolicyLabelRequest(name=_NAME, label="production", version=1)
        )
        yield client


@pytest.mark.parametrize(("method", "request_", "error", "message"), BAD_REQUESTS)
async def test_a_bad_request_is_refused_and_changes_nothing(
    client, settings, method, request_, error, message
):
    before = await redis_snapshot(settings.redis.url)
    call = getattr(client.rpc, method)
    if message is None:  # a control: the same request shape, valid, is accepted
        await call(request_)
        assert await redis_snapshot(settings.redis.url) != before
        return
    with pytest.raises(error, match=message):
        await call(request_)
    assert await redis_snapshot(settings.redis.url) == before


async def test_a_10_mb_description_is_refused_before_anything_is_stored(client, settings):
    before = await redis_snapshot(settings.redis.url)
    huge = _with(_set("description", "x" * 10_000_000))
    # Over the service's message size limit: gRPC refuses it before the service reads it.
    with pytest.raises(ResourceExhaustedError):
        await client.rpc.CreatePolicyVersion(pb.CreatePolicyVersionRequest(policy=huge))
    # Where a larger message limit lets it through, the registry refuses it.
    policies, store = registry(settings)
    try:
        with pytest.raises(InvalidArgumentError, match="description has 10000000 characters"):
            await policies.create(PolicyVersion(name=_NAME, description="x" * 10_000_000))
    finally:
        await store.close()
    assert await redis_snapshot(settings.redis.url) == before


async def test_a_policy_too_large_as_a_whole_is_refused(client, settings):
    # 1,500 phrases of 200 characters: the check's own limits pass, the whole does not.
    phrases = [f"phrase {i:04d} " + "x" * 188 for i in range(1500)]
    before = await redis_snapshot(settings.redis.url)
    policies, store = registry(settings)
    try:
        with pytest.raises(InvalidArgumentError, match="bytes as JSON; the limit is 262144"):
            await policies.create(
                PolicyVersion(
                    name=_NAME,
                    input_checks=(CheckSettings("banned-phrases", options={"phrases": phrases}),),
                )
            )
    finally:
        await store.close()
    assert await redis_snapshot(settings.redis.url) == before


async def test_the_registry_refuses_a_bad_default_policy_name(settings):
    policies, store = registry(settings)
    await store.close()
    with pytest.raises(InvalidArgumentError, match="guardrails.default_policy"):
        PolicyRegistry(policies.store, policies.checks, default_name="Not Valid")
