"""Helpers of the policy tests: policies to push, a registry beside the service."""

from __future__ import annotations

import uuid

from google.protobuf import duration_pb2

from guardrails.catalog import CheckCatalog
from guardrails.policies import PolicyRegistry
from llmops.v1 import common_pb2
from llmops.v1 import guardrails_pb2 as pb
from llmops_core import PluginContext, PluginRegistry, Settings
from llmops_redis.prompt_store import RedisPromptStore, RedisPromptStoreConfig

BLOCK, FLAG, REDACT = (
    common_pb2.GUARD_ACTION_BLOCK,
    common_pb2.GUARD_ACTION_FLAG,
    common_pb2.GUARD_ACTION_REDACT,
)


def unique_name(prefix: str = "test") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def policy(name: str, *, threshold: float = 0.5, max_chars: int = 4000, **fields) -> pb.Policy:
    """Injection and size checks on input, groundedness and PII on output."""
    budget = duration_pb2.Duration()
    budget.FromMilliseconds(1500)
    fields = {
        "description": "Test policy.",
        "author": "ana",
        "commit_message": "first cut",
    } | fields
    message = pb.Policy(
        name=name,
        input_checks=[
            pb.CheckConfig(check="prompt-injection", threshold=threshold, action=BLOCK),
            pb.CheckConfig(check="size-limit", action=BLOCK),
        ],
        output_checks=[
            pb.CheckConfig(check="groundedness", action=FLAG),
            pb.CheckConfig(check="pii", action=REDACT, failure_mode=pb.FAILURE_MODE_OPEN),
        ],
        failure_mode=pb.FAILURE_MODE_CLOSED,
        time_budget=budget,
        **fields,
    )
    message.input_checks[1].options.update({"max_chars": max_chars})
    return message


async def create(client, message: pb.Policy) -> pb.CreatePolicyVersionResponse:
    return await client.rpc.CreatePolicyVersion(pb.CreatePolicyVersionRequest(policy=message))


async def policy_with_versions(client, count: int) -> str:
    """A new policy with versions 1..count (prompt-injection thresholds 0.1, 0.2, ...)."""
    name = unique_name()
    for number in range(1, count + 1):
        await create(client, policy(name, threshold=number / 10))
    return name


def registry(settings: Settings) -> tuple[PolicyRegistry, RedisPromptStore]:
    """A registry over the service's Redis keys, for what the API does not expose."""
    context = PluginContext(settings)
    store = RedisPromptStore(RedisPromptStoreConfig(namespace="policy"), context)
    return PolicyRegistry(store, CheckCatalog(PluginRegistry(), context)), store
