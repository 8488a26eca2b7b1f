"""Text that hides what it says: invisible characters, bidirectional overrides, look-alike letters.

- ``smuggling.invisible``: Unicode tag characters (an ASCII payload no one sees), zero-width
  characters breaking up words, runs of variation selectors carrying bytes after one emoji.
  Legitimate uses pass: a zero-width joiner inside an emoji sequence or between letters of a
  script that shapes with it (Arabic, Indic), a tag sequence that spells a subdivision flag.
- ``smuggling.bidi``: overrides, embeddings and isolates that reorder what a reader sees
  (Trojan Source), weighed by whether the text has right-to-left script at all.
- ``smuggling.homoglyph``: one word mixing look-alike scripts (Latin with Cyrillic, Greek...),
  a whole look-alike word inside Latin text, or "styled" letters (mathematical, fullwidth)
  spelling a Latin word. A sentence wholly in Russian or Greek is ordinary text.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import ClassVar

from llmops_core import Finding, GuardInput
from llmops_guards._base import GuardConfig, LocalGuard

_INVISIBLE = "smuggling.invisible"
_HOMOGLYPH = "smuggling.homoglyph"
CATEGORIES = (_INVISIBLE, "smuggling.bidi", _HOMOGLYPH)

# One character class each, matched as runs: linear in the text.
_TAGS = "\U000e0000-\U000e007f"
_ZERO_WIDTH = "\u200b\u200c\u200d\u2060-\u2064\ufeff\u180e\u034f\u115f\u1160\u3164\uffa0"
_VARIATION = "\ufe00-\ufe0f\U000e0100-\U000e01ef"
_BIDI = "\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c"
_TAG_RUN = re.compile(f"[{_TAGS}]+")
_SELECTOR_RUN = re.compile(f"[{_VARIATION}]+")
_BIDI_RUN = re.compile(f"[{_BIDI}]+")
_ZERO_WIDTH_RUN = re.compile(f"[{_ZERO_WIDTH}]+")
_WORD = re.compile(r"[^\W\d_]+")

_OVERRIDES = frozenset("\u202d\u202e")
_EMBEDDINGS = frozenset("\u202a\u202b")
_ISOLATES = frozenset("\u2066\u2067\u2068")
_CLOSER_CHARS = "\u202c\u2069"
_JOINER_CHARS = "\u200c\u200d"
_CANCEL_TAG = "\U000e007f"
_BLACK_FLAG = "\U0001f3f4"

# Scripts whose letters are easily mistaken for each other.
_CONFUSABLE_SCRIPTS = frozenset({"LATIN", "CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE", "COPTIC"})
_RTL_SCRIPTS = frozenset({"ARABIC", "HEBREW", "SYRIAC", "THAANA", "NKO"})
# Joiners shape these scripts; between their letters ZWJ/ZWNJ are ordinary.
_JOINING_SCRIPTS = _RTL_SCRIPTS | frozenset(
    {"DEVANAGARI", "BENGALI", "GURMUKHI", "GUJARATI", "ORIYA", "TAMIL", "TELUGU", "KANNADA",
     "MALAYALAM", "SINHALA", "KHMER", "MYANMAR", "MONGOLIAN"}
)  # fmt: skip
# Cyrillic and Greek letters that look like Latin ones (Unicode confusables, lower and upper).
_LATIN_LOOKALIKES = frozenset(
    "аеорсухіјѕԁԛԝһӏԍґёїАВЕЗІЈКМНОРСТУХЅԌԚԜ"  # Cyrillic
    "αβεικνορτυχΑΒΕΖΗΙΚΜΝΟΡΤΥΧϲϳ"  # Greek
)


@dataclass(frozen=True)
class SmugglingMatch:
    category: str
    spans: tuple[tuple[int, int], ...]
    score: float
    message: str


def find_smuggling(text: str) -> list[SmugglingMatch]:
    """Everything in ``text`` that hides or disguises characters, by first occurrence.

    Hidden characters of one kind make one finding with every span (a text may hold thousands).
    """
    if text.isascii():
        return []  # every trick here needs a character outside ASCII
    found = [
        *_tag_payloads(text),
        *_selector_payloads(text),
        *_stray_zero_width(text),
        *_bidi(text),
        *_homoglyphs(text),
    ]
    return sorted(found, key=lambda m: m.spans[0])


def _tag_payloads(text: str) -> list[SmugglingMatch]:
    """Tag characters: an ASCII payload no reader sees (subdivision flags aside)."""
    spans = [m.span() for m in _TAG_RUN.finditer(text) if not _subdivision_flag(text, *m.span())]
    if not spans:
        return []
    hidden = "".join(text[s:e] for s, e in spans[:8])
    payload = "".join(chr(ord(c) - 0xE0000) for c in hidden if "\U000e0020" <= c <= "\U000e007e")
    count = sum(e - s for s, e in spans)
    message = f"{count} invisible tag character(s) spelling {payload[:40]!r}"
    return [SmugglingMatch(_INVISIBLE, tuple(spans), 1.0, message)]


def _selector_payloads(text: str) -> list[SmugglingMatch]:
    """Runs of variation selectors (bytes hidden after one character), or misplaced ones."""
    spans = [
        m.span()
        for m in _SELECTOR_RUN.finditer(text)
        if m.end() - m.start() >= 2 or _selector_misplaced(text, m.start(), m.group())
    ]
    if not spans:
        return []
    longest = max(e - s for s, e in spans)
    score = 1.0 if longest >= 4 else 0.7
    message = f"variation selectors hiding data (longest run {longest})"
    return [SmugglingMatch(_INVISIBLE, tuple(spans), score, message)]


def _stray_zero_width(text: str) -> list[SmugglingMatch]:
    """Zero-width characters that join no emoji and no letters of a joining script.

    One stray zero-width space is common in pasted text (noted only); several split words on
    purpose.
    """
    spans = []
    for m in _ZERO_WIDTH_RUN.finditer(text):
        start, end = m.span()
        run = m.group()
        if start == 0 and run == "\ufeff":
            continue  # a byte-order mark
        if not run.strip(_JOINER_CHARS) and _legitimate_joiner(text, start, end):
            continue
        spans.append((start, end))
    if not spans:
        return []
    total = sum(e - s for s, e in spans)
    score = 0.4 if total == 1 else 0.7 if total == 2 else 0.9 if total < 8 else 1.0
    message = f"{total} zero-width character(s)"
    return [SmugglingMatch(_INVISIBLE, tuple(spans), score, message)]


def _bidi(text: str) -> list[SmugglingMatch]:
    """Overrides, embeddings, isolates and marks, weighed by the text's own direction."""
    spans, kinds = [], set()
    for m in _BIDI_RUN.finditer(text):
        run = m.group().strip(_CLOSER_CHARS)  # a pop or a closing isolate hides nothing
        if run:
            spans.append(m.span())
            kinds.update(run)
    if not spans:
        return []
    rtl = _has_rtl(text)
    if kinds & _OVERRIDES:
        score, what = 1.0, "a bidirectional override reorders the text"
    elif kinds & (_EMBEDDINGS | _ISOLATES):
        if not _balanced(text):
            score, what = 1.0, "an unterminated bidirectional embedding or isolate"
        else:
            score, what = (0.3 if rtl else 0.8), "bidirectional embeddings or isolates"
    else:
        score, what = (0.2 if rtl else 0.6), "direction marks"
    return [SmugglingMatch("smuggling.bidi", tuple(spans), score, what)]


def _balanced(text: str) -> bool:
    """Every embedding is popped (U+202C) and every isolate closed (U+2069)."""
    embeddings = sum(text.count(c) for c in _EMBEDDINGS | _OVERRIDES)
    isolates = sum(text.count(c) for c in _ISOLATES)
    return text.count("\u202c") >= embeddings and text.count("\u2069") >= isolates


def _subdivision_flag(text: str, start: int, end: int) -> bool:
    # England's flag: U+1F3F4, tag letters "gbeng", cancel tag. Not a hidden message.
    run = text[start:end]
    body = run.rstrip(_CANCEL_TAG)
    return (
        start > 0
        and text[start - 1] == _BLACK_FLAG
        and run.endswith(_CANCEL_TAG)
        and 2 <= len(body) <= 6
        and all(
            "\U000e0030" <= c <= "\U000e0039" or "\U000e0061" <= c <= "\U000e007a" for c in body
        )
    )


def _selector_misplaced(text: str, start: int, run: str) -> bool:
    """A lone variation selector after a plain ASCII letter or digit, or at the very start."""
    if start == 0:
        return True
    base = text[start - 1]
    supplement = any(c >= "\U000e0100" for c in run)
    if supplement:  # ideographic variation sequences decorate CJK ideographs only
        return not unicodedata.name(base, "").startswith("CJK")
    return base.isascii() and base.isalnum() and base not in "0123456789#*"


def _legitimate_joiner(text: str, start: int, end: int) -> bool:
    while start and text[start - 1] in _VARIATION_SET:
        start -= 1  # "❤️‍🔥": the joiner follows the heart's emoji-style selector
    before = text[start - 1] if start else ""
    after = text[end] if end < len(text) else ""
    if _pictographic(before) or _pictographic(after):
        return True  # emoji ZWJ sequences (family, profession, flags)
    return bool(before and after) and (
        _script(before) in _JOINING_SCRIPTS and _script(after) in _JOINING_SCRIPTS
    )


def _pictographic(char: str) -> bool:
    return bool(char) and (ord(char) >= 0x1F000 or 0x2600 <= ord(char) <= 0x27BF)


def _homoglyphs(text: str) -> list[SmugglingMatch]:
    found: list[SmugglingMatch] = []
    latin_words = other_words = 0
    lookalike_words: list[tuple[int, int]] = []
    for m in _WORD.finditer(text):
        word = m.group()
        if word.isascii():
            latin_words += 1
            continue
        scripts = {_script(c) for c in word}
        confusable = scripts & _CONFUSABLE_SCRIPTS
        if len(confusable) >= 2:
            found.append(_mixed_word(m.start(), m.end(), word))
        elif _styled(word):
            found.append(_styled_word(m.start(), m.end(), word, scripts))
        elif confusable == {"LATIN"}:
            latin_words += 1
        elif confusable and len(word) >= 3 and all(c in _LATIN_LOOKALIKES for c in word):
            lookalike_words.append(m.span())
        else:
            other_words += 1
    # A word made only of Latin look-alikes is a spoof where the text around it is Latin.
    if lookalike_words and latin_words > 2 * (other_words + len(lookalike_words)):
        found.extend(
            SmugglingMatch(_HOMOGLYPH, (span,), 0.8, "a Latin-looking word in another script")
            for span in lookalike_words
        )
    return found


def _mixed_word(start: int, end: int, word: str) -> SmugglingMatch:
    scripts = sorted({_script(c) for c in word} & _CONFUSABLE_SCRIPTS)
    counts = {s: sum(_script(c) == s for c in word) for s in scripts}
    majority = max(counts, key=lambda s: (counts[s], s == "LATIN"))
    minority = [c for c in word if _script(c) in _CONFUSABLE_SCRIPTS and _script(c) != majority]
    # Look-alike letters inside a Latin word deceive; "kΩ" or "βeta" only mix.
    deceptive = majority == "LATIN" and all(c in _LATIN_LOOKALIKES for c in minority)
    deceptive = deceptive or (majority != "LATIN" and all(c.isascii() for c in minority))
    message = f"one word mixes {' and '.join(s.title() for s in scripts)} letters"
    return SmugglingMatch(_HOMOGLYPH, ((start, end),), 1.0 if deceptive else 0.4, message)


def _styled_word(start: int, end: int, word: str, scripts: set[str]) -> SmugglingMatch:
    # Styled letters mixed with plain ones dodge word filters; a whole fullwidth word is common
    # in CJK text, so alone it is only noted.
    if "LATIN" in scripts:
        score = 1.0
    elif any(_script(c) == "MATHEMATICAL" for c in word):
        score = 0.7
    else:
        score = 0.4
    message = f"styled letters spelling {unicodedata.normalize('NFKC', word)!r}"
    return SmugglingMatch(_HOMOGLYPH, ((start, end),), score, message)


def _styled(word: str) -> bool:
    """Mathematical or fullwidth letters that NFKC folds to plain ASCII letters."""
    folded = unicodedata.normalize("NFKC", word)
    return folded != word and folded.isascii() and folded.isalpha()


def _has_rtl(text: str) -> bool:
    return any(
        "\u0590" <= c <= "\u08ff" or "\ufb1d" <= c <= "\ufefc" for c in text if not c.isascii()
    )


@functools.lru_cache(maxsize=4096)
def _script(char: str) -> str:
    """The script of a letter, from its Unicode name ("CYRILLIC SMALL LETTER A" -> CYRILLIC)."""
    name = unicodedata.name(char, "")
    return name.split(" ", 1)[0]  # MATHEMATICAL and FULLWIDTH letters are their own "script"


_VARIATION_SET = frozenset(
    {chr(c) for c in range(0xFE00, 0xFE10)} | {chr(c) for c in range(0xE0100, 0xE01F0)}
)


class SmugglingGuard(LocalGuard):
    name: ClassVar[str] = "smuggling"
    Config: ClassVar[type[GuardConfig]] = GuardConfig  # block at 0.5
    stages: ClassVar[frozenset[str]] = frozenset({"input"})
    description: ClassVar[str] = (
        "Hidden or disguised text: invisible tag/zero-width/variation-selector characters, "
        "bidirectional overrides, look-alike letters from other scripts inside a word."
    )
    categories: ClassVar[tuple[str, ...]] = CATEGORIES

    async def check(self, item: GuardInput) -> list[Finding]:
        return [Finding(m.category, m.score, m.message, m.spans) for m in find_smuggling(item.text)]
