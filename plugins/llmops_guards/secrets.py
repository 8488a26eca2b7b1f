"""Credentials in text: API keys and tokens by their issuers' formats, private keys, JWTs,
``password=...`` style assignments, and long random-looking tokens next to key-ish words.

All patterns run on RE2 (linear in the text whatever it holds); a finding's span covers the
secret itself, not the name it is assigned to, so redaction keeps ``api_key=[...]`` readable.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import ClassVar

import re2
from pydantic import Field, field_validator

from llmops_core import Finding, GuardInput
from llmops_guards._base import Action, GuardConfig, LocalGuard
from llmops_guards._spans import claim

# Linear matching: the assignment rule runs on RE2. The formats and the token candidates run on
# Python's engine (far less overhead per match), each attempt starting only where a token starts
# (look-behind) and reading it with possessive quantifiers, so every character is read a bounded
# number of times; adversarial tests time each.
_T = "A-Za-z0-9_-"  # token characters
_FORMATS = tuple(
    (kind, needles, re.compile(rf"(?<![{_T}]){pattern}(?![{_T}])"), score)
    for kind, needles, pattern, score in (
        (
            "aws_access_key",
            ("AKIA", "ASIA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA"),
            r"(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[A-Z0-9]{16}",
            1.0,
        ),
        ("github_token", ("gh",), r"(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,}+", 1.0),
        ("github_token", ("github_pat_",), r"github_pat_[A-Za-z0-9_]{22,}+", 1.0),
        ("slack_token", ("xox",), r"xox[abprse]-[A-Za-z0-9-]{10,}+", 1.0),
        (
            "slack_token",
            ("hooks.slack.com",),
            r"https://hooks\.slack\.com/services/[A-Za-z0-9/_-]{20,}+",
            1.0,
        ),
        ("stripe_key", ("_live_",), r"(?:sk|rk)_live_[A-Za-z0-9]{16,}+", 1.0),
        ("stripe_key", ("_test_",), r"(?:sk|rk|pk)_test_[A-Za-z0-9]{16,}+", 0.7),
        (
            "openai_key",
            ("sk-",),
            r"sk-(?:proj-|svcacct-|admin-|ant-(?:api|admin)\d\d-)?+[A-Za-z0-9_-]{20,}+",
            1.0,
        ),
        ("google_api_key", ("AIza",), r"AIza[0-9A-Za-z_-]{35}", 1.0),
        (
            "jwt",
            ("eyJ",),
            r"eyJ[A-Za-z0-9_-]{5,}+\.eyJ[A-Za-z0-9_-]{5,}+\.[A-Za-z0-9_-]{10,}+",
            0.9,
        ),
        (
            "private_key",
            ("-----BEGIN ",),
            r"-----BEGIN (?:[A-Z0-9]++ ){0,3}PRIVATE KEY(?: BLOCK)?-----",
            1.0,
        ),
    )
)
_PEM_END = re.compile(r"-----END (?:[A-Z0-9]++ ){0,3}PRIVATE KEY(?: BLOCK)?-----")
_BASE64_LINE = frozenset("+/=\r\n")
_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")

_ASSIGNMENT = re2.compile(
    r"(?i)((?:\b|_)(?:password|passwd|passphrase|pwd|secret|client[_-]?secret|secret[_-]?key|"
    r"api[_-]?key|apikey|api[_-]?token|access[_-]?key|access[_-]?token|auth[_-]?token|"
    r"private[_-]?key|token|bearer)\b)"
    r"[\"']?(?:\s{0,3}[:=]{1,2}>?\s{0,3}|\s+is\s+|\s)[\"'`]?([^\s\"'`,;]{4,})"
)
# Values that stand in for a secret rather than being one.
_PLACEHOLDERS = re2.compile(
    r"(?i)^(?:\*+|x+|\.+|<[^>]*>?|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|\{\{.*\}\}|%\(?[A-Za-z_]*\)?s?|"
    r"null|none|nil|true|false|undefined|required|optional|string|str|changeme|redacted|"
    r"(?:your|my|the)[_-]?\w*|os\.environ.*|process\.env.*|env\(.*|getenv.*|settings\..*|"
    r"config\..*|self\..*|\[redacted\]|\[.*\])$"
)
_CANDIDATE = re.compile(r"(?<![A-Za-z0-9+/_=-])[A-Za-z0-9+/_=-]{20,}+")
_KEYISH = re2.compile(
    r"(?i)(?:key|token|secret|passw|pwd|auth|bearer|credential|api|private|signature|sig|"
    r"cookie|session)"
)
_KEYISH_WINDOW = 48
_MAX_TOKEN = 512  # longer runs are data (base64 blobs), not a credential


@dataclass(frozen=True)
class SecretMatch:
    category: str
    start: int
    end: int
    score: float


CATEGORIES = tuple(
    f"secrets.{kind}"
    for kind in (
        "aws_access_key",
        "github_token",
        "slack_token",
        "stripe_key",
        "openai_key",
        "google_api_key",
        "jwt",
        "private_key",
        "password",
        "api_key",
        "high_entropy",
    )
)


def find_secrets(text: str, min_entropy: float = 4.0) -> list[SecretMatch]:
    """Every credential in ``text`` in text order; known formats win over the generic rules."""
    return claim((*_known_formats(text), *_assignments(text), *_random_tokens(text, min_entropy)))


def _known_formats(text: str) -> list[SecretMatch]:
    found = []
    for kind, needles, pattern, score in _FORMATS:
        if not any(needle in text for needle in needles):
            continue  # a substring search is far cheaper than the pattern's scan
        if kind == "private_key":
            found.extend(_private_keys(text, pattern, score))
            continue
        found.extend(
            SecretMatch(f"secrets.{kind}", *m.span(), score) for m in pattern.finditer(text)
        )
    return found


def _private_keys(text: str, header: re.Pattern[str], score: float) -> list[SecretMatch]:
    """PEM blocks from header to footer (or to the end of the base64 lines after the header).

    Headers inside a block already found are skipped, so the text is read once however many
    headers it repeats.
    """
    found: list[SecretMatch] = []
    footers = iter(_PEM_END.finditer(text))
    footer = next(footers, None)
    for m in header.finditer(text):
        start, end = m.span()
        if found and start < found[-1].end:
            continue
        while footer is not None and footer.start() < end:
            footer = next(footers, None)
        if footer is not None:
            end = footer.end()
        else:
            while end < len(text) and (text[end] in _BASE64_LINE or _token_char(text, end)):
                end += 1
        found.append(SecretMatch("secrets.private_key", start, end, score))
    return found


def _assignments(text: str) -> list[SecretMatch]:
    found = []
    for m in _ASSIGNMENT.finditer(text):
        value = m.group(2)
        if _PLACEHOLDERS.match(value) or _plain_word(value):
            continue
        name = m.group(1).lower().lstrip("_")
        between = text[m.end(1) : m.start(2)]
        kind = "password" if name.startswith(("pass", "pwd")) else "api_key"
        if ":" in between or "=" in between:
            score = 0.9  # an assignment
        elif len(value) >= 8 and _looks_random(value, 3.0):
            score = 0.7  # "Bearer 9f8a...": a random-looking value after the word
        else:
            continue  # "max token 2048"
        found.append(SecretMatch(f"secrets.{kind}", *m.span(2), score))
    return found


def _plain_word(value: str) -> bool:
    # "password is required", "token: expired": prose, not a credential.
    return value.isalpha() and (value.islower() or value.istitle())


def _random_tokens(text: str, min_entropy: float) -> list[SecretMatch]:
    found = []
    for m in _CANDIDATE.finditer(text):
        token = m.group()
        start, end = m.span()
        if len(token) > _MAX_TOKEN or not _looks_random(token, min_entropy):
            continue
        before = text[max(0, start - _KEYISH_WINDOW) : start]
        if _KEYISH.search(before):
            found.append(SecretMatch("secrets.high_entropy", start, end, 0.8))
    return found


def _looks_random(token: str, min_entropy: float) -> bool:
    """Mixed letters and digits with high per-character entropy (hex strings have at most 4 bits)."""
    if not (any(c.isdigit() for c in token) and any(c.isalpha() for c in token)):
        return False
    if token.count("-") + token.count("_") > len(token) // 4:
        return False  # kebab-case or snake_case identifiers
    lowered = token.lower()
    hexadecimal = all(c in "0123456789abcdef" for c in lowered)
    threshold = min(min_entropy, 3.5) if hexadecimal and len(token) >= 32 else min_entropy
    return shannon_entropy(token) >= threshold


def shannon_entropy(token: str) -> float:
    counts = Counter(token)
    return -sum(n / len(token) * math.log2(n / len(token)) for n in counts.values())


def _token_char(text: str, position: int) -> bool:
    return 0 <= position < len(text) and text[position] in _TOKEN_CHARS


class SecretsConfig(GuardConfig):
    action: Action = "redact"
    categories: list[str] = Field(default_factory=lambda: list(CATEGORIES))
    min_entropy: float = Field(
        default=4.0, ge=2.0, le=6.0, description="bits per character for secrets.high_entropy"
    )

    @field_validator("categories")
    @classmethod
    def _known(cls, categories: list[str]) -> list[str]:
        unknown = sorted(set(categories) - set(CATEGORIES))
        if unknown:
            raise ValueError(f"unknown categories {unknown}; known: {list(CATEGORIES)}")
        return categories


class SecretsGuard(LocalGuard):
    name: ClassVar[str] = "secrets"
    Config: ClassVar[type[GuardConfig]] = SecretsConfig
    stages: ClassVar[frozenset[str]] = frozenset({"input", "output"})
    description: ClassVar[str] = (
        "Credentials: cloud, code-hosting, chat, payment and LLM API keys by format, private "
        "keys, JWTs, password/api_key assignments, random tokens next to key-ish words."
    )
    categories: ClassVar[tuple[str, ...]] = CATEGORIES
    supports_redaction: ClassVar[bool] = True

    async def check(self, item: GuardInput) -> list[Finding]:
        assert isinstance(self.config, SecretsConfig)
        wanted = set(self.config.categories)
        return [
            Finding(
                m.category,
                m.score,
                f"{m.category.removeprefix('secrets.')} found",
                ((m.start, m.end),),
            )
            for m in find_secrets(item.text, self.config.min_entropy)
            if m.category in wanted
        ]
