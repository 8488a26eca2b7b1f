"""Banned phrases: folding, word bounds, spans in the original text, hostile sizes."""

from __future__ import annotations

import time

import pytest
from pydantic import ValidationError

from llmops_core import GuardInput, PluginContext, Settings
from llmops_guards.phrases import BannedPhrasesConfig, BannedPhrasesGuard, FoldedText


def _guard(*phrases: str) -> BannedPhrasesGuard:
    return BannedPhrasesGuard(BannedPhrasesConfig(phrases=list(phrases)), PluginContext(Settings()))


async def _found(guard: BannedPhrasesGuard, text: str) -> list[str]:
    findings = await guard.check(GuardInput(text, "output"))
    assert all(f.category == "banned_phrase" and f.score == 1.0 for f in findings)
    return [text[start:end] for f in findings for start, end in f.spans]


async def test_case_width_and_compatibility_forms_match():
    guard = _guard("foo bar", "Straße", "ﬁsh")
    assert await _found(guard, "Ｆｏｏ　ＢＡＲ is here") == ["Ｆｏｏ　ＢＡＲ"]
    assert await _found(guard, "FOO BAR and foo bar") == ["FOO BAR", "foo bar"]
    assert await _found(guard, "He lives in STRASSE 5") == ["STRASSE"]
    assert await _found(guard, "a fish and a ﬁsh") == ["fish", "ﬁsh"]


async def test_accents_composed_or_not_neither_hide_a_phrase_nor_split_a_word():
    guard = _guard("café")
    assert await _found(guard, "un café noir") == ["café"]
    assert await _found(guard, "un cafe\u0301 noir, un CAFE") == ["cafe\u0301", "CAFE"]
    assert await _found(_guard("viagra"), "cheap vi\u0301agra") == ["vi\u0301agra"]
    assert await _found(_guard("caf"), "un café, un cafe\u0301") == []


async def test_whole_words_only_where_the_phrase_has_word_ends():
    guard = _guard("ban", "c++", "foo bar")
    assert await _found(guard, "banner, urban, bans") == []
    assert await _found(guard, "a ban. (ban)") == ["ban", "ban"]
    assert await _found(guard, "I write C++ daily") == ["C++"]
    assert await _found(guard, "foo bart") == []
    assert await _found(guard, "foo\n\t bar") == ["foo\n\t bar"]


async def test_the_longest_phrase_at_a_place_wins_and_a_shorter_one_stands_in():
    guard = _guard("foo", "foo bar")
    assert await _found(guard, "foo bar") == ["foo bar"]
    assert await _found(guard, "foo bart") == ["foo"]


async def test_spans_point_into_the_original_after_expanding_characters():
    guard = _guard("secret")
    text = "Straße ﬁ ½ café — the SECRET is out"
    assert await _found(guard, text) == ["SECRET"]


def test_folded_offsets_map_back():
    text = "ßx ﬁy \u0301z"
    folded = FoldedText(text)
    assert folded.folded == "ssx fiy z"
    assert folded.span(0, 2) == (0, 1)  # "ss" is the one "ß"
    assert folded.span(2, 3) == (1, 2)
    assert folded.span(4, 7) == (3, 5)
    assert folded.span(8, 9) == (7, 8)  # the lone accent folds to nothing


async def test_no_phrases_or_empty_text_find_nothing():
    assert await _found(_guard(), "anything at all") == []
    assert await _found(_guard("x"), "") == []


def test_bad_phrases_are_refused_with_their_index():
    with pytest.raises(ValidationError, match="phrase 1 is empty"):
        BannedPhrasesConfig(phrases=["ok", "  "])
    with pytest.raises(ValidationError, match="longer than 200"):
        BannedPhrasesConfig(phrases=["x" * 201])


def test_defaults_redact_and_declare_redaction():
    config = BannedPhrasesConfig()
    assert (config.action, config.phrases) == ("redact", [])
    assert BannedPhrasesGuard.supports_redaction
    assert BannedPhrasesGuard.stages == {"input", "output"}


@pytest.mark.parametrize(
    "text",
    [
        "a" * 1_000_000,
        " " * 1_000_000,
        "Ｆｏｏ " * 200_000,
        "phrase0 " * 125_000,  # a phrase's prefix over and over
        "é" + "ab " * 333_000,
    ],
    ids=["letters", "spaces", "fullwidth", "prefixes", "non-ascii"],
)
async def test_hostile_text_with_hundreds_of_phrases_takes_linear_time(text):
    guard = _guard(*[f"phrase{i} words here" for i in range(500)])
    started = time.perf_counter()
    await guard.check(GuardInput(text, "input"))
    # About 0.2 s per million characters here; quadratic work would take minutes.
    assert time.perf_counter() - started < 5.0
