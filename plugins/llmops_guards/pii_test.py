"""The pii check: hard positives and negatives per type with exact spans, hostile input in linear
time, and redaction through the guardrails service over a real socket."""

from __future__ import annotations

import time
import uuid

import pytest

from guardrails.main import create_server
from llmops.v1 import common_pb2
from llmops.v1 import guardrails_pb2 as pb
from llmops_core import GuardInput, PluginContext, PluginRegistry, Settings
from llmops_core.testing import serving
from llmops_guards import pii
from llmops_guards.pii import CATEGORIES, PiiConfig, PiiGuard, find_pii
from llmops_sdk import GuardrailsClient


def found(text: str) -> list[tuple[str, str]]:
    return [(m.category.removeprefix("pii."), text[m.start : m.end]) for m in find_pii(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Write to ana.lopez@example.com.", [("email", "ana.lopez@example.com")]),
        ("<j.o'neil+tag@mail.co.uk>", [("email", "j.o'neil+tag@mail.co.uk")]),
        ("josé@correo.es", [("email", "josé@correo.es")]),
        ("Call +44 20 7946 0958 today", [("phone", "+44 20 7946 0958")]),
        ("Office (212) 555-0123.", [("phone", "(212) 555-0123")]),
        ("Tel. 030 1234567", [("phone", "030 1234567")]),
        ("Berlin: +49 30 901820", [("phone", "+49 30 901820")]),
        ("dial 555-0100.", [("phone", "555-0100")]),
        ("+41 (0)21 345 67 89", [("phone", "+41 (0)21 345 67 89")]),
        ("Mobile 06 12 34 56 78", [("phone", "06 12 34 56 78")]),
        ("ext: 415-555-0134x123 or 001-541-754-3010", [("phone", "415-555-0134x123"), ("phone", "001-541-754-3010")]),
        ("call me on 4155550134", [("phone", "4155550134")]),
        ("Card 4111 1111 1111 1111.", [("payment_card", "4111 1111 1111 1111")]),
        ("Amex 3782-822463-10005 ok", [("payment_card", "3782-822463-10005")]),
        ("pay 5555555555554444", [("payment_card", "5555555555554444")]),
        ("Room 12 4111 1111 1111 1111", [("payment_card", "4111 1111 1111 1111")]),
        ("IBAN DE89 3704 0044 0532 0130 00, BIC COBADEFFXXX", [("iban", "DE89 3704 0044 0532 0130 00")]),
        ("to GB82WEST12345698765432.", [("iban", "GB82WEST12345698765432")]),
        ("NL91ABNA0417164300 and FR1420041010050500013M02606", [("iban", "NL91ABNA0417164300"), ("iban", "FR1420041010050500013M02606")]),
        ("SSN 123-45-6789", [("us_ssn", "123-45-6789")]),
        ("my social security number is 123456789", [("us_ssn", "123456789")]),
        ("SSN: 123 45 6789", [("us_ssn", "123 45 6789")]),
        ("from 192.168.1.20, then 10.0.0.1:8080", [("ip_address", "192.168.1.20"), ("ip_address", "10.0.0.1")]),
        ("hosts 2001:db8::1 and ::1 and fe80::1%eth0", [("ip_address", "2001:db8::1"), ("ip_address", "::1"), ("ip_address", "fe80::1")]),
        ("mapped ::ffff:192.0.2.1 here", [("ip_address", "::ffff:192.0.2.1")]),
    ],
)  # fmt: skip
def test_hard_positives_with_exact_spans(text, expected):
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Card 4111 1111 1111 1112 was declined.",  # Luhn-invalid: neither a card nor a phone
        "Card 4111-1111-1111 is not complete",  # card-shaped, not a phone
        "IBAN DE89 3704 0044 0532 0130 01",  # mod-97 fails: and no phone inside it either
        "Order 123456789 and order number 4155550134",
        "Released 2024-01-15 (15.01.2024), version 1.2.3, ISBN 978-3-16-148410-0",
        "ISBN 0-306-40615-2 and build 10.0.19041.1",
        "The time is 12:30:45, the ratio 16:9, MAC 00:1A:2B:3C:4D:5E",
        "std::vector<int> and Foo::Bar::baz",
        "It cost $1,234,567.89 in 2019 2020; population 1 234 567.",
        "invoice 2024-118, tracking 68996461930853079976",
        "SSN 000-12-3456 and 666-12-3456 are invalid",
        "a bare 123456789 without context",
        "the hotel 5550100 is near",
        "v1.2.3.4 and 256.1.1.1 and 1.2.3",
        "user@localhost has no domain",
        "3.14159265358979 digits of pi",
    ],
)
def test_hard_negatives(text):
    assert found(text) == []


def test_a_phone_is_never_cut_out_of_a_longer_number():
    for text in (
        "4111 1111 1111 1112",  # invalid card
        "DE89 3704 0044 0532 0130 01",  # invalid IBAN
        "12345678901234567890",
        "acct 1234-5678-9012-3456-7890",
    ):
        assert [kind for kind, _ in found(text)] == [], text


def test_categories_select_what_is_reported():
    text = "ana@example.com, 192.168.1.20"
    only_ip = find_pii(text, ("pii.ip_address",))
    assert [(m.category, m.start, m.end) for m in only_ip] == [("pii.ip_address", 17, 29)]


def test_config_defaults_and_validation():
    config = PiiConfig()
    assert (config.action, config.threshold, tuple(config.categories)) == (
        "redact",
        0.5,
        CATEGORIES,
    )
    with pytest.raises(ValueError, match=r"unknown categories \['pii.name'\]"):
        PiiConfig(categories=["pii.name"])
    assert PiiConfig(categories=["email", "ip-address"]).categories == [
        "pii.email",
        "pii.ip_address",
    ]
    assert PiiGuard.supports_redaction and PiiGuard.categories == CATEGORIES


async def test_check_reports_findings_with_spans():
    guard = PiiGuard(PiiConfig(), PluginContext(Settings()))
    text = "Mail ana@example.com, card 4111 1111 1111 1111."
    findings = await guard.check(GuardInput(text=text, stage="input"))
    assert [(f.category, f.score, f.message, f.spans) for f in findings] == [
        ("pii.email", 1.0, "email found", ((5, 20),)),
        ("pii.payment_card", 1.0, "payment_card found", ((27, 46),)),
    ]
    assert await guard.check(GuardInput(text="nothing here", stage="input")) == []


HOSTILE = {
    "a.": "a." * 50_000,
    "@": "@" * 100_000,
    "digits": "1" * 100_000,
    "digit-space": "1 " * 50_000,
    "digit-dash": "1-" * 50_000,
    "digit-dot": "1." * 50_000,
    "colons": ":" * 100_000,
    "hex-colon": "a:" * 50_000,
    "brackets": "(1" * 50_000,
    "plus": "+1 " * 33_000,
    "iban-ish": "DE89 " * 20_000,
    "email-ish": "a@b." * 25_000,
    "local-parts": "a" * 99_999 + "@",
}


def _best_of_three(call) -> float:
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        call()
        timings.append(time.perf_counter() - started)
    return min(timings)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_each_pattern_is_fast_on_hostile_input(name):
    text = HOSTILE[name]
    for pattern in (pii._EMAIL, pii._RUN, pii._IBAN_START, pii._IPV4, pii._IPV6):
        elapsed = _best_of_three(lambda p=pattern: sum(1 for _ in p.finditer(text)))
        assert elapsed < 0.1, (name, pattern.pattern, elapsed)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_the_whole_check_is_linear_on_hostile_input(name):
    text = HOSTILE[name]
    elapsed = _best_of_three(lambda: find_pii(text))
    # The service's largest text (100k characters) full of candidates; typically 20-70 ms.
    assert elapsed < 0.5, (name, elapsed)


def _settings(settings: Settings) -> Settings:
    data = settings.model_dump()
    data["guardrails"]["input_guards"] = [{"plugin": "pii"}]
    data["guardrails"]["output_guards"] = [{"plugin": "pii"}]
    data["guardrails"]["default_policy"] = f"pii-{uuid.uuid4().hex}"  # Redis outlives one test
    return Settings.model_validate(data)


async def test_the_service_redacts_every_type(settings):
    plugins = PluginRegistry(load_entry_points=False)
    plugins.register("guard", "pii", "llmops_guards.pii:PiiGuard")
    text = (
        "Mail ana@example.com, call +44 20 7946 0958, card 4111-1111-1111-1111, "
        "IBAN DE89 3704 0044 0532 0130 00, SSN 123-45-6789, host 2001:db8::1."
    )
    async with (
        serving(create_server(_settings(settings), plugins)) as address,
        GuardrailsClient(address) as client,
    ):
        decision = (await client.rpc.CheckInput(pb.CheckInputRequest(text=text))).decision
        answer = await client.rpc.CheckOutput(pb.CheckOutputRequest(text="Reach me at 555-0100."))
    assert decision.action == common_pb2.GUARD_ACTION_REDACT
    assert decision.redacted_text == (
        "Mail [EMAIL], call [PHONE], card [PAYMENT_CARD], IBAN [IBAN], SSN [US_SSN], "
        "host [IP_ADDRESS]."
    )
    [verdict] = decision.verdicts
    assert [(s.start, s.end) for f in verdict.findings for s in f.spans][:2] == [(5, 20), (27, 43)]
    assert answer.decision.redacted_text == "Reach me at [PHONE]."
