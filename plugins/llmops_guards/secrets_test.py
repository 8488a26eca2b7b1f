"""The secrets check: each known format, assignments, the entropy rule, hard negatives, exact
spans, hostile input, and redaction through the guardrails service over a real socket."""

from __future__ import annotations

import time
import uuid

import pytest

from guardrails.main import create_server
from llmops.v1 import common_pb2
from llmops.v1 import guardrails_pb2 as pb
from llmops_core import GuardInput, PluginContext, PluginRegistry, Settings
from llmops_core.testing import serving
from llmops_guards import secrets
from llmops_guards.secrets import (
    CATEGORIES,
    SecretsConfig,
    SecretsGuard,
    find_secrets,
    shannon_entropy,
)
from llmops_sdk import GuardrailsClient

GITHUB = "ghp_" + "Zx9" * 12
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ."
    "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
PEM = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU=\n-----END OPENSSH PRIVATE KEY-----"


def found(text: str) -> list[tuple[str, str]]:
    return [
        (m.category.removeprefix("secrets."), text[m.start : m.end]) for m in find_secrets(text)
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("key AKIAIOSFODNN7EXAMPLE in the log", [("aws_access_key", "AKIAIOSFODNN7EXAMPLE")]),
        ("temp ASIAY34FZKBOKMUTVV7A,", [("aws_access_key", "ASIAY34FZKBOKMUTVV7A")]),
        (f"token {GITHUB}", [("github_token", GITHUB)]),
        ("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP", [("github_token", "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP")]),
        ("slack xoxb-123456789012-abcdefghijKLM", [("slack_token", "xoxb-123456789012-abcdefghijKLM")]),
        ("sk_live_4eC39HqLyjWDarjtT1zdp7dc and rk_live_51H8abcDEFghiJKLmno", [("stripe_key", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"), ("stripe_key", "rk_live_51H8abcDEFghiJKLmno")]),
        ("OPENAI_API_KEY=sk-proj-abcDEF1234567890ghijKLMN", [("openai_key", "sk-proj-abcDEF1234567890ghijKLMN")]),
        ("maps AIzaSyA-1234567890abcdefghijklmnopqrstu", [("google_api_key", "AIzaSyA-1234567890abcdefghijklmnopqrstu")]),
        (f"Authorization: Bearer {JWT}", [("jwt", JWT)]),
        (f"key:\n{PEM}\nend", [("private_key", PEM)]),
        ('password="hunter22"', [("password", "hunter22")]),
        ("DB_PASSWORD: s3cr3t-Pa55", [("password", "s3cr3t-Pa55")]),
        ("secret_key = 'x9K2mQ8vL3pR7tW1'", [("api_key", "x9K2mQ8vL3pR7tW1")]),
        ("api-key => Zm9vYmFyYmF6cXV4", [("api_key", "Zm9vYmFyYmF6cXV4")]),
        ("the signing secret for prod: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", [("high_entropy", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")]),
    ],
)  # fmt: skip
def test_hard_positives_with_exact_spans(text, expected):
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "password is required",
        "Enter your password: ********",
        "api_key: ${API_KEY}",
        "token = os.environ['TOKEN']",
        "api_key=<your-api-key>",
        "max token 2048 and token limit 512",
        "sk-learn is a typo of scikit-learn",
        "commit 9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a fixed it",
        "use model text-embedding-3-large_with_long_identifier_names",
        "request id 3f2504e0-4f89-11d3-9a0c-0305e82c3301 took 20 ms",
        "AKIAIOSFODNN7EXAMPLEXYZ is too long to be a key id",
        "-----BEGIN PUBLIC KEY-----",
        "a very_long_snake_case_identifier_for_the_api_key_setting",
    ],
)
def test_hard_negatives(text):
    assert found(text) == []


def test_entropy_of_random_and_plain_tokens():
    assert shannon_entropy("aaaaaaaa") == 0
    assert shannon_entropy("abcdefgh") == 3
    assert shannon_entropy("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY") > 4.5


def test_config_defaults_and_validation():
    config = SecretsConfig()
    assert (config.action, config.threshold, config.min_entropy) == ("redact", 0.5, 4.0)
    assert tuple(config.categories) == CATEGORIES
    with pytest.raises(ValueError, match="unknown categories"):
        SecretsConfig(categories=["secrets.nope"])
    with pytest.raises(ValueError):
        SecretsConfig(min_entropy=9)


async def test_check_filters_by_category():
    guard = SecretsGuard(SecretsConfig(categories=["secrets.jwt"]), PluginContext(Settings()))
    text = f"AKIAIOSFODNN7EXAMPLE {JWT}"
    findings = await guard.check(GuardInput(text=text, stage="input"))
    assert [(f.category, f.spans) for f in findings] == [("secrets.jwt", ((21, 21 + len(JWT)),))]


@pytest.mark.parametrize(
    "text",
    [
        "a." * 50_000,
        "eyJ" * 33_000,
        "eyJa." * 20_000,
        "password=" * 11_000,
        "AKIA" * 25_000,
        "-----BEGIN RSA PRIVATE KEY-----" + "A" * 100_000,
        "sk-" * 33_000,
        "key " + "Ab1+" * 25_000,
        "-----BEGIN RSA PRIVATE KEY-----AAAA" * 3_000,
        "-----END RSA PRIVATE KEY-----" * 3_000,
    ],
)
def test_hostile_input_is_fast(text):
    for _, _, pattern, _ in secrets._FORMATS:
        started = time.perf_counter()
        sum(1 for _ in pattern.finditer(text))
        assert time.perf_counter() - started < 0.1, pattern.pattern
    started = time.perf_counter()
    find_secrets(text)
    assert time.perf_counter() - started < 0.5


async def test_the_service_redacts_secrets_but_keeps_their_names(settings):
    plugins = PluginRegistry(load_entry_points=False)
    plugins.register("guard", "secrets", "llmops_guards.secrets:SecretsGuard")
    data = settings.model_dump()
    data["guardrails"]["input_guards"] = [{"plugin": "secrets"}]
    data["guardrails"]["output_guards"] = [{"plugin": "secrets"}]
    data["guardrails"]["default_policy"] = f"secrets-{uuid.uuid4().hex}"  # Redis outlives one test
    text = f"export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE password={GITHUB[:12]}"
    async with (
        serving(create_server(Settings.model_validate(data), plugins)) as address,
        GuardrailsClient(address) as client,
    ):
        decision = (await client.rpc.CheckInput(pb.CheckInputRequest(text=text))).decision
    assert decision.action == common_pb2.GUARD_ACTION_REDACT
    assert decision.redacted_text == "export AWS_ACCESS_KEY_ID=[AWS_ACCESS_KEY] password=[PASSWORD]"
