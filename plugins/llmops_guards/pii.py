"""Personal data by pattern and checksum: e-mail, phone, payment card, IBAN, US SSN, IP address.

Every number-like stretch of the text is read once, whole, as a *digit run* (digits joined by
single spaces, dashes, dots or bracketed groups) and then classified: a run is a payment card, an
SSN or a phone number, so a phone is never cut out of a card, an IBAN or a longer number. A run's
shape (group lengths, separators, a leading "+"), checksums (Luhn, mod-97) and the words just
before it (``call``, ``SSN``, ``order``...) decide. Patterns run on RE2, so matching is linear in
the text whatever it holds.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass
from typing import ClassVar

import re2
from pydantic import Field, field_validator

from llmops_core import Finding, GuardInput
from llmops_guards._base import Action, GuardConfig, LocalGuard
from llmops_guards._spans import claim

CATEGORIES = (
    "pii.email",
    "pii.phone",
    "pii.payment_card",
    "pii.iban",
    "pii.us_ssn",
    "pii.ip_address",
)

# Matching stays linear in the text. The e-mail pattern runs on RE2: a failing attempt can scan a
# long stretch ("a." * 50_000 took seconds on a backtracking engine). The other patterns run on
# Python's engine (about ten times less overhead per match than RE2's binding), each written so that
# an attempt either fails within a few characters or cannot fail once its first character matched,
# and none has two ways to match the same characters; adversarial tests time each.
_EMAIL = re2.compile(
    r"[\pL\pN!#$%&'*+/=?^_`{|}~-]+(?:\.[\pL\pN!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[\pL\pN](?:[\pL\pN-]*[\pL\pN])?\.)+\pL\pL+"
)
# A digit run: a digit or a bracketed group, then more of them with at most one separator between.
_RUN = re.compile(r"\+?(?:\(\d{1,5}\)|\d++)(?:[ .\-]?(?:\(\d{1,5}\)|\d++))*+", re.ASCII)
_EXTENSION = re.compile(r"\s?(?:x|ext\.?|extension)\s?\d{1,5}", re.ASCII)
_IBAN_START = re.compile(r"\b[A-Z]{2}\d{2}", re.ASCII)
_GROUP = re.compile(r"\(\d+\)|\d+", re.ASCII)
_SEPARATOR = re.compile(r"(?<=[\d)])[ .\-](?=[\d(])")
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}", re.ASCII)
# Starts only where a stretch of hex digits, colons and dots starts, so each is read once.
_IPV6 = re.compile(r"(?<![0-9A-Fa-f:.])[0-9A-Fa-f.]*+:[0-9A-Fa-f:.]*+")

# Length of a full IBAN per country (SWIFT IBAN registry); a code not listed is not an IBAN.
_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32,
    "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31,
    "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28, "TL": 23,
    "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip

_CONTEXT_CHARS = 32
_MIN_RUN_CHARS = 7  # the shortest phone number (555-0100 has 8)
_MAX_RUN_CHARS = 40  # the longest: a card in a run of 8 groups, a phone with brackets
_MAX_CARD_RUN_GROUPS = 8  # a card has at most 5 groups; a few more for words around it


@dataclass(frozen=True)
class PiiMatch:
    category: str
    start: int
    end: int
    score: float


def find_pii(text: str, categories: tuple[str, ...] = CATEGORIES) -> list[PiiMatch]:
    """Every piece of personal data in ``text``, in text order, none overlapping another.

    Kinds claim their spans in order of certainty (e-mail, IBAN, IP, then digit runs), so a
    number inside an e-mail address or an IBAN is never read again as a phone.
    """
    matches = claim(
        match
        for needle, finder in _FINDERS
        if needle in text  # a substring search is far cheaper than a pattern's scan
        for match in finder(text)
    )
    return [m for m in matches if m.category in categories]


def _emails(text: str) -> list[PiiMatch]:
    return [
        PiiMatch("pii.email", *m.span(), 1.0)
        for m in _EMAIL.finditer(text)
        if not _word_char(text, m.end())
    ]


def _ibans(text: str) -> list[PiiMatch]:
    found: list[PiiMatch] = []
    for m in _IBAN_START.finditer(text):
        start = m.start()
        if found and start < found[-1].end:
            continue
        end = _iban_end(text, start)
        if end is not None:
            found.append(PiiMatch("pii.iban", start, end, 1.0))
    return found


def _iban_end(text: str, start: int) -> int | None:
    """End of the IBAN starting at ``start`` (groups may be split by single spaces), if valid."""
    length = _IBAN_LENGTHS.get(text[start : start + 2])
    if length is None:
        return None
    match = _iban_body(length).match(text, start)
    if match is None or _word_char(text, match.end()):
        return None
    chars = match.group().replace(" ", "").upper()
    if int((chars[4:] + chars[:4]).translate(_LETTER_VALUES)) % 97 != 1:
        return None
    return match.end()


_LETTER_VALUES = str.maketrans({chr(ord("A") + i): str(10 + i) for i in range(26)})  # A=10...Z=35


@functools.cache
def _iban_body(length: int) -> re.Pattern[str]:
    return re.compile(rf"[A-Z]{{2}}\d{{2}}(?: ?[A-Za-z0-9]){{{length - 4}}}", re.ASCII)


def _ipv4s(text: str) -> list[PiiMatch]:
    found = []
    for m in _IPV4.finditer(text):
        start, end = m.span()
        before = text[start - 1] if start else " "
        after = text[end : end + 2]
        if before.isalnum() or before in "._" or after[:1].isdigit() or _dotted(after):
            continue  # part of a version ("v1.2.3.4"), a longer dotted number or a word
        if _VERSION_WORDS.search(text[max(0, start - 16) : start].lower()):
            continue  # "version 1.2.3.4", "build 10.0.19041.1"
        if all(o == "0" or (not o.startswith("0") and int(o) <= 255) for o in m.group().split(".")):
            found.append(PiiMatch("pii.ip_address", start, end, 1.0))
    return found


def _ipv6s(text: str) -> list[PiiMatch]:
    found = []
    for m in _IPV6.finditer(text):
        candidate = m.group().rstrip(".")
        if candidate.endswith(":") and not candidate.endswith("::"):
            candidate = candidate[:-1]
        if candidate.count(":") < 2 or len(candidate) > 45 or candidate == "::":
            continue
        start = m.start()
        end = start + len(candidate)
        if _word_char(text, start - 1) or _word_char(text, end):
            continue  # "std::vector", hex words
        try:
            ipaddress.IPv6Address(candidate)
        except ValueError:
            continue  # times (12:30:45), MAC addresses, ratios
        found.append(PiiMatch("pii.ip_address", start, end, 1.0))
    return found


@dataclass(frozen=True)
class _Run:
    """A digit run split into its groups."""

    start: int
    end: int
    plus: bool
    groups: tuple[str, ...]  # digits of each group
    group_starts: tuple[int, ...]
    group_ends: tuple[int, ...]
    separators: frozenset[str]
    brackets: bool

    @property
    def digits(self) -> str:
        return "".join(self.groups)


def _digit_runs(text: str) -> list[PiiMatch]:
    found: list[PiiMatch] = []
    for m in _RUN.finditer(text):
        start, end = m.span()
        if not _MIN_RUN_CHARS <= end - start <= _MAX_RUN_CHARS:
            continue  # too few digits for any kind, or a list of numbers rather than one
        if start and (text[start - 1].isalnum() or text[start - 1] in "_@/#$€£%:"):
            continue  # inside a word, a path, an amount or a time
        if start > 1 and text[start - 1] in ".-," and text[start - 2].isdigit():
            continue
        if _continues_number(text, end) or (end < len(text) and text[end] in "@%"):
            continue
        match = _classify(_split_run(m.group(), start), text)
        if match is not None:
            found.append(match)
    return found


def _split_run(run: str, offset: int) -> _Run:
    groups = [
        (g.group().strip("()"), g.start() + offset, g.end() + offset) for g in _GROUP.finditer(run)
    ]
    digits, starts, ends = zip(*groups, strict=True)
    return _Run(
        offset,
        offset + len(run),
        run.startswith("+"),
        digits,
        starts,
        ends,
        frozenset(_SEPARATOR.findall(run)),
        "(" in run,
    )


def _classify(run: _Run, text: str) -> PiiMatch | None:
    digits = run.digits
    ssn = _as_ssn(run, text)
    if ssn is not None or (not run.plus and len(run.groups) == 3 and _lengths(run) == (3, 2, 4)):
        return ssn  # SSN-shaped: never a phone, even when the SSN itself is invalid
    card = _as_card(run)
    if card is not None or (len(digits) >= 13 and not _international(run)) or _card_shaped(run):
        return card  # a long or card-shaped number that is not a card is no phone either
    return _as_phone(run, text)


def _lengths(run: _Run) -> tuple[int, ...]:
    return tuple(len(g) for g in run.groups)


def _as_ssn(run: _Run, text: str) -> PiiMatch | None:
    digits = run.digits
    if len(digits) != 9 or run.plus or run.brackets or not _ssn_valid(digits):
        return None
    if _lengths(run) == (3, 2, 4) and len(run.separators) == 1 and run.separators <= {"-", " "}:
        return PiiMatch("pii.us_ssn", run.start, run.end, 0.9)
    if len(run.groups) == 1 and _nearest_word(text, run.start, _SSN_CONTEXT) == "ssn":
        return PiiMatch("pii.us_ssn", run.start, run.end, 0.8)
    return None


def _ssn_valid(digits: str) -> bool:
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def _as_card(run: _Run) -> PiiMatch | None:
    """A Luhn-valid card number: the whole run, or a stretch of whole groups of it."""
    if run.plus or run.brackets or not run.separators <= {" ", "-"}:
        return None
    groups = run.groups
    if len(groups) > _MAX_CARD_RUN_GROUPS:
        return None  # a list of numbers, not a card
    if _card_grouping(groups):  # printed as one card: valid whole or not a card at all
        if 12 <= len(run.digits) <= 19 and _card_number(run.digits):
            return PiiMatch("pii.payment_card", run.start, run.end, 1.0)
        return None
    best: tuple[int, int] | None = None  # the longest valid stretch of groups
    for first in range(len(groups)):
        count = 0
        for last in range(first, len(groups)):
            count += len(groups[last])
            if count > 19:
                break
            window = groups[first : last + 1]
            longer = best is None or last - first > best[1] - best[0]
            if longer and count >= 12 and _card_grouping(window) and _card_number("".join(window)):
                best = (first, last)
    if best is None:
        return None
    return PiiMatch("pii.payment_card", run.group_starts[best[0]], run.group_ends[best[1]], 1.0)


def _card_shaped(run: _Run) -> bool:
    return len(run.groups) >= 3 and all(len(g) == 4 for g in run.groups) and not run.plus


def _card_grouping(groups: tuple[str, ...]) -> bool:
    lengths = tuple(len(g) for g in groups)
    if len(lengths) == 1:
        return True
    if lengths in ((4, 6, 5), (4, 6, 4)):  # American Express, Diners Club
        return True
    return all(n == 4 for n in lengths[:-1]) and 1 <= lengths[-1] <= 4


def _card_number(digits: str) -> bool:
    # Issuers' ranges start with 2-6 (Mastercard 2-series, Amex/Diners/JCB 3, Visa 4, 5, 6) or
    # 1800 (JCB); 12-digit numbers are Maestro's (50, 56-69).
    if len(digits) == 12 and not (digits[:2] == "50" or "56" <= digits[:2] <= "69"):
        return False
    return (digits[0] in "23456" or digits.startswith("1800")) and _luhn_valid(digits)


def _luhn_valid(digits: str) -> bool:
    checksum = 0
    for i, char in enumerate(reversed(digits)):
        digit = int(char)
        if i % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        checksum += digit
    return checksum % 10 == 0


def _international(run: _Run) -> bool:
    # "+" or the international call prefix 00 (with a country code and a number after it).
    return run.plus or (run.digits.startswith("00") and len(run.digits) >= 11)


def _as_phone(run: _Run, text: str) -> PiiMatch | None:
    digits = run.digits
    end = run.end
    extension = _EXTENSION.match(text, end)
    if extension is not None and not _word_char(text, extension.end()):
        end = extension.end()
    elif _word_char(text, end):
        return None
    if _international(run):
        ok = 8 <= len(digits) <= 15
        return PiiMatch("pii.phone", run.start, end, 0.9) if ok else None
    if not 7 <= len(digits) <= 12 or _date_like(run):
        return None
    nearest = _nearest_word(text, run.start, _PHONE_CONTEXT)
    if nearest == "other":
        return None
    lengths = _lengths(run)
    if len(lengths) == 1:
        # A bare digit string is a phone only when the words say so, or when it starts with a
        # trunk prefix (0) and has a national number's length.
        shaped = False
        if digits[0] == "0" and 10 <= len(digits) <= 11:
            return PiiMatch("pii.phone", run.start, end, 0.6)
    elif len(run.separators) > 1 and "." in run.separators:
        return None  # "676-3941.92": a range of decimals
    elif len(lengths) == 2 and len(run.groups[0]) == 4 and run.groups[0][:2] in ("19", "20"):
        return None  # "2024-118": a year and a number
    elif run.brackets:
        shaped = True
    else:
        body = lengths[1:] if lengths[0] == 1 and digits[0] == "1" else lengths
        # Groups of two only in the French way: ten digits from a trunk 0 ("01 23 45 67 89").
        pairs = len(digits) == 10 and digits[0] == "0"
        shaped = min(body) >= 2 and (max(lengths) >= 3 or pairs)
        if run.separators == {" "} and len(digits) < 9:
            shaped = False  # "2019 2020", "12 345": numbers in prose
    if shaped:
        return PiiMatch("pii.phone", run.start, end, 0.9)
    if nearest == "phone":
        return PiiMatch("pii.phone", run.start, end, 0.7)
    return None


def _date_like(run: _Run) -> bool:
    lengths = _lengths(run)
    if len(lengths) != 3 or run.brackets or len(run.separators) != 1:
        return False
    if lengths == (4, 2, 2):
        year, month, day = run.groups
    elif lengths in ((2, 2, 4), (2, 2, 2)):
        day, month, year = run.groups
        if int(day) <= 12 < int(month):
            day, month = month, day  # US order
    else:
        return False
    return 1 <= int(month) <= 12 and 1 <= int(day) <= 31


def _nearest_word(text: str, start: int, words: re.Pattern[str]) -> str | None:
    """The group name of the ``words`` occurrence closest before ``start`` (a short window)."""
    last = None  # look-behinds see past the window's start, so "id" in "...side" is no word
    for last in words.finditer(text, max(0, start - _CONTEXT_CHARS), start):  # noqa: B007 - the last one is the nearest
        pass
    return last.lastgroup if last is not None else None


def _word_list(**kinds: tuple[str, ...]) -> re.Pattern[str]:
    # A word counts where a word starts: "tel" in "hotel" or "id" in "said" is no evidence.
    return re.compile(
        "|".join(
            f"(?P<{kind}>{'|'.join(re.escape(w) for w in sorted(words, key=len, reverse=True))})"
            for kind, words in kinds.items()
        ).replace("(?P<", "(?<![a-z])(?P<"),
        re.IGNORECASE,
    )


def _word_char(text: str, position: int) -> bool:
    return 0 <= position < len(text) and (text[position].isalnum() or text[position] == "_")


def _dotted(after: str) -> bool:
    return len(after) == 2 and after[0] == "." and after[1].isdigit()


def _continues_number(text: str, end: int) -> bool:
    """A digit, or a decimal point / thousands comma / time colon followed by a digit."""
    if end < len(text) and text[end].isdigit():
        return True
    return end + 1 < len(text) and text[end] in ".,:" and text[end + 1].isdigit()


# Words just before a number that say what it is; the nearest one wins.
_PHONE_CONTEXT = _word_list(
    phone=(
        "phone", "call", "tel", "mobile", "cell", "fax", "sms", "text me", "whatsapp", "dial",
        "reach", "contact", "ring", "message", "landline", "hotline", "my number",
        "your number", "his number", "her number", "our number", "their number",
    ),
    other=(
        "order", "invoice", "ref", "tracking", "account", "acct", "isbn", "serial", "version",
        "ticket", "case", "id", "#", "no.", "sku", "part", "zip", "postcode", "code", "amount",
        "total", "price", "$", "€", "£", "year", "page", "item", "customer", "policy", "claim",
        "build", "release", "patch", "firmware",
    ),
)  # fmt: skip
_VERSION_WORDS = re.compile(r"\b(?:version|build|release|firmware|patch|ver\.?)\s*$")
_SSN_CONTEXT = _word_list(
    ssn=("ssn", "social security", "ss#", "ss #", "soc sec", "social-security"),
)


_FINDERS = (("@", _emails), ("", _ibans), (":", _ipv6s), (".", _ipv4s), ("", _digit_runs))


class PiiConfig(GuardConfig):
    action: Action = "redact"
    categories: list[str] = Field(default_factory=lambda: list(CATEGORIES))

    @field_validator("categories")
    @classmethod
    def _known(cls, categories: list[str]) -> list[str]:
        # "email" and "ip-address" (the names before categories were dotted) mean the same.
        categories = [
            c if c.startswith("pii.") else f"pii.{c.replace('-', '_')}" for c in categories
        ]
        unknown = sorted(set(categories) - set(CATEGORIES))
        if unknown:
            raise ValueError(f"unknown categories {unknown}; known: {list(CATEGORIES)}")
        return categories


class PiiGuard(LocalGuard):
    name: ClassVar[str] = "pii"
    Config: ClassVar[type[GuardConfig]] = PiiConfig
    stages: ClassVar[frozenset[str]] = frozenset({"input", "output"})
    description: ClassVar[str] = (
        "Personal data: e-mail, phone (international formats), payment card (Luhn), IBAN "
        "(mod-97), US SSN, IPv4/IPv6 address."
    )
    categories: ClassVar[tuple[str, ...]] = CATEGORIES
    supports_redaction: ClassVar[bool] = True

    async def check(self, item: GuardInput) -> list[Finding]:
        assert isinstance(self.config, PiiConfig)
        return [
            Finding(
                m.category, m.score, f"{m.category.removeprefix('pii.')} found", ((m.start, m.end),)
            )
            for m in find_pii(item.text, tuple(self.config.categories))
        ]
