"""Sentence boundaries that survive numbers, abbreviations, initials and glued passages.

`split(text)` returns (start, end) code-point spans of the sentences of `text`, stripped
of surrounding white space. A candidate boundary is a run of `.`, `!` or `?` (plus closing
quotes or brackets); it ends a sentence only when

- the next character is white space or the end of the text, or a capital letter that
  starts a lowercase word right after a lowercase word ("century.First": passages glued
  together without a space, as retrieval chunks often are);
- the next word does not start in lowercase ("e.g. the", "approx. five");
- for a `.`, the word before is not a known abbreviation ("Dr.", "St.", "Inc."), a single
  letter (initials "J. R. R. Tolkien"), or a dotted acronym ("U.S.", "e.g.").

Digits around a dot never split ("96.3 Rock Radio", "3.5 million") because a boundary
needs white space or a glued capitalised word after it. Line breaks end sentences too
(lists, bullet points). Every pattern here is a plain character class run, so matching
is linear in the text length.
"""

from __future__ import annotations

import re

# A run of terminators and the closing quotes/brackets that belong to the sentence.
_TERMINATOR = re.compile(r"[.!?…]+[\"'”’)\]]*")
_NEWLINE = re.compile(r"\n")
# The word right before a terminator (word characters and inner dots, e.g. "U.S", "e.g").
_WORD_BEFORE = re.compile(r"[\w.]{1,12}$")

ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "mx",
        "dr",
        "prof",
        "rev",
        "fr",
        "sr",
        "jr",
        "st",
        "mt",
        "ft",
        "gen",
        "col",
        "lt",
        "sgt",
        "capt",
        "cmdr",
        "adm",
        "gov",
        "sen",
        "rep",
        "pres",
        "hon",
        "messrs",
        "inc",
        "ltd",
        "co",
        "corp",
        "bros",
        "llc",
        "plc",
        "dept",
        "univ",
        "assn",
        "approx",
        "appx",
        "ca",
        "cf",
        "vs",
        "etc",
        "al",
        "eds",
        "jan",
        "feb",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "tues",
        "thurs",
        "ave",
        "blvd",
        "rd",
        "hwy",
    ]
)
# Abbreviations only when a number follows ("No. 5", "Fig. 2"): "He loved art. She" ends.
NUMBERED = frozenset(
    ("no", "nos", "vol", "vols", "pp", "p", "fig", "figs", "eq", "ch", "sec", "art", "op")
)


def split(text: str) -> list[tuple[int, int]]:
    """Code-point spans of the sentences of `text`, in order, white space trimmed."""
    spans: list[tuple[int, int]] = []
    start = 0
    for cut in _boundaries(text):
        _append(spans, text, start, cut)
        start = cut
    _append(spans, text, start, len(text))
    return spans


def _boundaries(text: str) -> list[int]:
    cuts = [m.end() for m in _TERMINATOR.finditer(text) if _ends_sentence(text, m)]
    cuts += [m.end() for m in _NEWLINE.finditer(text)]
    return sorted(set(cuts))


def _ends_sentence(text: str, match: re.Match[str]) -> bool:
    end = match.end()
    if end >= len(text):
        return True
    after = text[end]
    if after.isspace():
        following = text[end : end + 40].lstrip()
        if following[:1].islower():
            return False  # "e.g. the", "approx. five": the sentence goes on
    elif not _glued_sentence(text, match.start(), end):
        return False
    if "." not in match.group()[:1]:
        return True  # "!" or "?"
    word = _WORD_BEFORE.search(text, max(0, match.start() - 12), match.start())
    token = word.group().lstrip(".") if word else ""
    if not token or token[-1].isdigit():
        return True  # a number or symbol before the dot: "in 1991." ends a sentence
    if len(token) == 1 and token.isalpha():
        return False  # an initial: "J. R. R. Tolkien"
    if "." in token:
        return False  # a dotted acronym: "U.S.", "e.g."
    token = token.lower()
    if token in NUMBERED:
        return not text[end : end + 8].lstrip()[:1].isdigit()
    return token not in ABBREVIATIONS


def _glued_sentence(text: str, start: int, end: int) -> bool:
    """`century.First`: a lowercase word, the terminator, then a capitalised word."""
    before = text[start - 2 : start]
    after = text[end : end + 2]
    return (
        len(before) == 2
        and before.isalpha()
        and before.islower()
        and len(after) == 2
        and after[0].isupper()
        and after[1].islower()
    )


def _append(spans: list[tuple[int, int]], text: str, start: int, end: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))
