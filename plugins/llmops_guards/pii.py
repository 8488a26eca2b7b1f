"""Personal data by pattern: e-mail, phone, payment card (Luhn-checked), US SSN, IBAN, IP address."""

from __future__ import annotations

import re
from typing import ClassVar

from pydantic import Field, field_validator

from llmops_core import Finding, GuardInput
from llmops_guards._base import Action, GuardConfig, LocalGuard

_PATTERNS: dict[str, re.Pattern[str]] = {
    "email": re.compile(r"\b[\w.+-]+@[\w-]+(\.[\w-]+)*\.[a-z]{2,}\b", re.I),
    "phone": re.compile(
        r"(?<![\w+])(\+\d{1,3}[\s.-]?)?(\(\d{2,4}\)|\d{2,4})[\s.-]\d{3,4}[\s.-]\d{3,4}\b"
    ),
    "payment-card": re.compile(r"\b(?:\d[ -]?){12,18}\d\b"),
    "us-ssn": re.compile(r"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b"),
    "iban": re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?\b"),
    "ip-address": re.compile(
        r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b"
    ),
}


class PiiConfig(GuardConfig):
    action: Action = "redact"
    categories: list[str] = Field(default_factory=lambda: list(_PATTERNS))

    @field_validator("categories")
    @classmethod
    def _known(cls, categories: list[str]) -> list[str]:
        unknown = sorted(set(categories) - set(_PATTERNS))
        if unknown:
            raise ValueError(f"unknown categories {unknown}; known: {sorted(_PATTERNS)}")
        return categories


class PiiGuard(LocalGuard):
    name: ClassVar[str] = "pii"
    Config: ClassVar[type[GuardConfig]] = PiiConfig
    stages: ClassVar[frozenset[str]] = frozenset({"input", "output"})
    description: ClassVar[str] = (
        "Personal data: e-mail, phone, payment card, SSN, IBAN, IP address."
    )

    async def check(self, item: GuardInput) -> list[Finding]:
        findings = []
        for category in self.config.categories:
            for match in _PATTERNS[category].finditer(item.text):
                if category == "payment-card" and not _luhn_valid(match.group()):
                    continue
                findings.append(Finding(category, 1.0, f"{category} found", (match.span(),)))
        return findings


def _luhn_valid(number: str) -> bool:
    digits = [int(d) for d in number if d.isdigit()]
    checksum = 0
    for i, digit in enumerate(reversed(digits)):
        if i % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        checksum += digit
    return checksum % 10 == 0
