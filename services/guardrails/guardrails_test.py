"""The guardrails service over a real socket and a real Redis, with checks that need no model:
decisions under versioned policies, time budgets, failure modes, actions, bad input.

Model-based checks (injection, harm, groundedness) are tested against the real Triton in
detectors_test.py; streaming in streaming_test.py; evaluation in evaluation_test.py.
"""

from __future__ import annotations

import asyncio
import time
from typing import ClassVar

import pytest
from google.protobuf import duration_pb2

from guardrails.main import create_server
from llmops.v1 import common_pb2
from llmops.v1 import guardrails_pb2 as pb
from llmops_core import Finding, GuardInput, PluginContext, PluginRegistry, Settings
from llmops_core.errors import InvalidArgumentError, NotFoundError
from llmops_core.testing import serving
from llmops_guards._base import GuardConfig
from llmops_sdk import GuardrailsClient

BLOCK, FLAG, REDACT, LOG, ALLOW = (
    common_pb2.GUARD_ACTION_BLOCK,
    common_pb2.GUARD_ACTION_FLAG,
    common_pb2.GUARD_ACTION_REDACT,
    common_pb2.GUARD_ACTION_LOG,
    common_pb2.GUARD_ACTION_ALLOW,
)
DETERMINISTIC = [{"plugin": "size-limit"}, {"plugin": "pii"}, {"plugin": "secrets"}]


class ExplodingGuard:
    """A guard whose check always fails, as a guard with a dead dependency would."""

    name: ClassVar[str] = "exploding"
    Config: ClassVar[type[GuardConfig]] = GuardConfig
    stages: ClassVar[frozenset[str]] = frozenset({"input", "output"})
    description: ClassVar[str] = "Always fails."
    categories: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: GuardConfig, context: PluginContext) -> None:
        self.config = config

    async def check(self, item: GuardInput) -> list[Finding]:
        raise ConnectionError("classifier at 10.0.0.9 refused the connection")

    async def close(self) -> None:
        return None


class SleepyConfig(GuardConfig):
    seconds: float = 0.3


class SleepyGuard(ExplodingGuard):
    """A guard that takes ``seconds`` and then finds the word 'slow'."""

    name: ClassVar[str] = "sleepy"
    Config: ClassVar[type[GuardConfig]] = SleepyConfig
    description: ClassVar[str] = "Takes its time."
    categories: ClassVar[tuple[str, ...]] = ("sleepy",)

    async def check(self, item: GuardInput) -> list[Finding]:
        await asyncio.sleep(self.config.seconds)
        return [Finding("sleepy", 1.0, "slow")] if "slow" in item.text else []


def _configured(settings: Settings, input_guards: list, output_guards: list) -> Settings:
    data = settings.model_dump()
    data["guardrails"]["input_guards"] = input_guards
    data["guardrails"]["output_guards"] = output_guards
    return Settings.model_validate(data)


@pytest.fixture
def plugins() -> PluginRegistry:
    registry = PluginRegistry(load_entry_points=False)
    registry.register("guard", "exploding", f"{__name__}:ExplodingGuard")
    registry.register("guard", "sleepy", f"{__name__}:SleepyGuard")
    registry.register("guard", "sleepy-too", f"{__name__}:SleepyGuard")
    return registry


@pytest.fixture
async def client(settings, plugins, empty_redis):
    configured = _configured(settings, DETERMINISTIC, [{"plugin": "pii"}])
    async with (
        serving(create_server(configured, plugins)) as address,
        GuardrailsClient(address) as client,
    ):
        yield client


def check(name: str, **fields) -> pb.CheckConfig:
    options = fields.pop("options", None)
    config = pb.CheckConfig(check=name, **fields)
    if options:
        config.options.update(options)
    return config


async def push(client, name: str, *, inputs=(), outputs=(), **fields) -> pb.Policy:
    policy = pb.Policy(name=name, input_checks=list(inputs), output_checks=list(outputs), **fields)
    reply = await client.rpc.CreatePolicyVersion(pb.CreatePolicyVersionRequest(policy=policy))
    return reply.policy


async def _input(client, text: str, **request) -> common_pb2.GuardDecision:
    return (await client.rpc.CheckInput(pb.CheckInputRequest(text=text, **request))).decision


def _verdict(decision: common_pb2.GuardDecision, name: str) -> common_pb2.GuardVerdict:
    [verdict] = [v for v in decision.verdicts if v.check == name]
    return verdict


async def test_the_default_policy_is_made_from_the_config_and_named_in_every_decision(client):
    decision = await _input(client, "What does LLMOps add to MLOps?")
    assert (decision.allowed, decision.action) == (True, ALLOW)
    assert (decision.policy, decision.policy_version) == ("default", 1)
    assert [v.check for v in decision.verdicts] == ["size-limit", "pii", "secrets"]
    assert all(v.passed and not v.findings and not v.error for v in decision.verdicts)


async def test_personal_data_and_secrets_are_redacted_with_their_kind(client):
    text = (
        "Mail ana.lopez@example.com or call +1 415-555-0134 from 192.168.1.20, "
        "key AKIAIOSFODNN7EXAMPLE."
    )
    decision = await _input(client, text)
    assert (decision.allowed, decision.action) == (True, REDACT)
    assert decision.redacted_text == (
        "Mail [EMAIL] or call [PHONE] from [IP_ADDRESS], key [AWS_ACCESS_KEY]."
    )
    categories = {f.category for v in decision.verdicts for f in v.findings}
    assert {"pii.email", "pii.phone", "pii.ip_address"} <= categories
    email = next(f for f in _verdict(decision, "pii").findings if f.category == "pii.email")
    assert [(s.start, s.end) for s in email.spans] == [(5, 26)]


async def test_a_decision_names_the_policy_version_the_label_points_at(client):
    first = await push(client, "support", inputs=[check("pii")])
    second = await push(
        client, "support", inputs=[check("pii", category_actions={"pii.email": BLOCK})]
    )
    assert (first.version, second.version) == (1, 2)
    text = "Write to ana@example.com please."
    # No "production" label yet: the newest version applies.
    newest = await _input(client, text, policy="support")
    assert (newest.policy_version, newest.action) == (2, BLOCK)
    await client.rpc.SetPolicyLabel(
        pb.SetPolicyLabelRequest(name="support", label="production", version=1)
    )
    production = await _input(client, text, policy="support")
    assert (production.policy_version, production.action) == (1, REDACT)
    pinned = await _input(client, text, policy="support", policy_version=2)
    assert (pinned.policy_version, pinned.action) == (2, BLOCK)
    by_label = await _input(client, text, policy="support", policy_label="latest")
    assert by_label.policy_version == 2


async def test_category_actions_override_the_check_action_by_category_and_parent(client):
    await push(
        client,
        "strict",
        inputs=[check("pii", action=LOG, category_actions={"pii.us_ssn": BLOCK, "pii": FLAG})],
    )
    email = await _input(client, "ana@example.com", policy="strict")
    ssn = await _input(client, "my SSN is 123-45-6789", policy="strict")
    assert email.action == FLAG  # "pii" covers pii.email
    assert (ssn.action, ssn.allowed) == (BLOCK, False)


async def test_findings_under_the_threshold_are_dropped_but_the_score_is_kept(client):
    await push(client, "zw", inputs=[check("smuggling", threshold=0.5)])
    await push(client, "zw-strict", inputs=[check("smuggling", threshold=0.1)])
    text = "hello\u200bworld"  # one stray zero-width space: weak evidence
    lenient = _verdict(await _input(client, text, policy="zw"), "smuggling")
    strict = _verdict(await _input(client, text, policy="zw-strict"), "smuggling")
    assert 0.1 <= lenient.score < 0.5
    assert (lenient.passed, lenient.action, list(lenient.findings)) == (True, ALLOW, [])
    assert (strict.passed, strict.score) == (False, lenient.score)
    assert [f.category for f in strict.findings] == ["smuggling.invisible"]


async def test_checks_of_one_decision_run_concurrently(client):
    await push(
        client,
        "two-slow",
        inputs=[
            check("sleepy", options={"seconds": 0.4}),
            check("sleepy-too", options={"seconds": 0.4}),
        ],
    )
    started = time.perf_counter()
    decision = await _input(client, "slow and slower", policy="two-slow")
    elapsed = time.perf_counter() - started
    assert [v.check for v in decision.verdicts] == ["sleepy", "sleepy-too"]
    assert decision.action == BLOCK
    assert elapsed < 0.7, elapsed  # one check's time, not two


@pytest.mark.parametrize(
    ("mode", "name", "allowed", "action", "outcome"),
    [
        (pb.FAILURE_MODE_CLOSED, "closed", False, BLOCK, "blocked"),
        (pb.FAILURE_MODE_OPEN, "open", True, LOG, "passed"),
    ],
)
async def test_a_check_past_the_time_budget_is_decided_by_the_failure_mode(
    client, mode, name, allowed, action, outcome
):
    await push(
        client,
        f"budget-{outcome}",
        inputs=[check("size-limit"), check("sleepy", options={"seconds": 5})],
        failure_mode=mode,
        time_budget=duration_pb2.Duration(nanos=200_000_000),
    )
    started = time.perf_counter()
    decision = await _input(client, "a quick question", policy=f"budget-{outcome}")
    assert time.perf_counter() - started < 1.5
    assert (decision.allowed, decision.action) == (allowed, action)
    late = _verdict(decision, "sleepy")
    assert late.error == f"ran past its time (200 ms); failure mode {name}: {outcome}"
    assert _verdict(decision, "size-limit").passed  # the other check still decided


async def test_a_check_timeout_and_failure_mode_of_its_own_win_over_the_policy(client):
    await push(
        client,
        "per-check",
        inputs=[
            check(
                "sleepy",
                options={"seconds": 5},
                failure_mode=pb.FAILURE_MODE_OPEN,
                timeout=duration_pb2.Duration(nanos=100_000_000),
            ),
        ],
        failure_mode=pb.FAILURE_MODE_CLOSED,
    )
    decision = await _input(client, "hello", policy="per-check")
    assert (decision.allowed, decision.action) == (True, LOG)
    assert _verdict(decision, "sleepy").error.startswith("ran past its time (100 ms)")


async def test_a_failing_check_blocks_fail_closed_and_says_why(client):
    await push(client, "broken", inputs=[check("size-limit"), check("exploding")])
    decision = await _input(client, "A harmless question?", policy="broken")
    assert (decision.allowed, decision.action) == (False, BLOCK)
    failed = _verdict(decision, "exploding")
    assert (failed.passed, failed.action) == (False, BLOCK)
    assert failed.error == (
        "failed: ConnectionError: classifier at 10.0.0.9 refused the connection; "
        "failure mode closed: blocked"
    )
    assert _verdict(decision, "size-limit").passed


async def test_a_failing_check_fail_open_lets_the_text_pass_and_says_so(client):
    await push(
        client, "broken-open", inputs=[check("exploding")], failure_mode=pb.FAILURE_MODE_OPEN
    )
    decision = await _input(client, "A harmless question?", policy="broken-open")
    failed = _verdict(decision, "exploding")
    assert (decision.allowed, decision.action) == (True, LOG)
    assert (failed.passed, failed.action) == (True, LOG)
    assert failed.error.endswith("failure mode open: passed")


async def test_unknown_policy_or_version_is_not_found_naming_what_exists(client):
    await push(client, "support", inputs=[check("pii")])
    with pytest.raises(NotFoundError) as unknown:
        await _input(client, "hi", policy="nope")
    assert "'nope'" in unknown.value.message
    assert "default" in unknown.value.message and "support" in unknown.value.message
    with pytest.raises(NotFoundError) as version:
        await _input(client, "hi", policy="support", policy_version=7)
    assert "7" in version.value.message and "1" in version.value.message
    with pytest.raises(InvalidArgumentError, match="policy_version is -1"):
        await _input(client, "hi", policy="support", policy_version=-1)


async def test_a_policy_with_an_unknown_check_or_options_is_refused_and_nothing_stored(client):
    cases = [
        (check("toxicity-9000"), "unknown check 'toxicity-9000'"),
        (check("size-limit", options={"max_chars": -1}), "invalid options for 'size-limit'"),
        (check("size-limit", threshold=1.5), r"outside \[0, 1\]"),
    ]
    for config, message in cases:
        with pytest.raises(InvalidArgumentError, match=message):
            await push(client, "bad", inputs=[config])
    with pytest.raises(NotFoundError):
        await client.rpc.GetPolicy(pb.GetPolicyRequest(name="bad"))


async def test_bad_text_is_invalid_argument(client):
    cases = [
        (client.rpc.CheckInput(pb.CheckInputRequest(text="")), "text is empty"),
        (client.rpc.CheckInput(pb.CheckInputRequest(text=" \n ")), "text is empty"),
        (
            client.rpc.CheckInput(pb.CheckInputRequest(text="x" * 100_001)),
            "text has 100001 characters; the limit is 100000",
        ),
        (client.rpc.CheckOutput(pb.CheckOutputRequest(text="")), "text is empty"),
        (
            client.rpc.CheckOutput(pb.CheckOutputRequest(text="An answer.", context=["p"] * 101)),
            "101 context passages; the limit is 100",
        ),
    ]
    for call, message in cases:
        with pytest.raises(InvalidArgumentError, match=message):
            await call
    longest = await client.rpc.CheckInput(pb.CheckInputRequest(text="x" * 100_000))
    assert not longest.decision.allowed  # the size-limit check blocks it; the request is valid


async def test_ten_megabytes_of_text_is_refused_before_any_check_runs(
    settings, plugins, empty_redis
):
    configured = _configured(settings, DETERMINISTIC, [{"plugin": "pii"}])
    configured.guardrails.max_message_bytes = 16 * 1024 * 1024
    async with (
        serving(create_server(configured, plugins)) as address,
        GuardrailsClient(address) as client,
    ):
        started = time.perf_counter()
        with pytest.raises(InvalidArgumentError, match="the limit is 100000"):
            await _input(client, "a" * 10_000_000)
        assert time.perf_counter() - started < 2.0


async def test_list_checks_names_every_installed_check_with_its_stage_and_categories(client):
    checks = (await client.rpc.ListChecks(pb.ListChecksRequest())).checks
    pairs = {(c.name, c.stage) for c in checks}
    assert {("pii", "input"), ("pii", "output"), ("groundedness", "output")} <= pairs
    assert {("prompt-injection", "input"), ("harm", "input"), ("secrets", "input")} <= pairs
    pii = next(c for c in checks if c.name == "pii")
    assert "pii.email" in pii.categories and pii.supports_redaction
    assert next(c for c in checks if c.name == "groundedness").needs_context
    assert all(c.description for c in checks)
    assert [c.name for c in checks] == sorted(c.name for c in checks)
