"""The sentence splitter on the cases that broke the old one, and on hostile input."""

from __future__ import annotations

import time

import pytest

from llmops_guard_models.sentences import split


def texts(text: str) -> list[str]:
    return [text[s:e] for s, e in split(text)]


@pytest.mark.parametrize(
    "text",
    [
        "He hosted a show on 96.3 Rock Radio in Dallas.",
        "The city has 3.5 million people and grew 2.7 percent.",
        "Dr. Smith met Mr. Jones at St. Mary's Hospital.",
        "She moved to the U.S. Army base in 1990.",
        "Bring fruit, e.g. apples or pears, and i.e. nothing else.",
        "J. R. R. Tolkien wrote it.",
        "The firm, Acme Inc. of Ohio, was sold.",
        "See Fig. 2 and No. 5 for details.",
        "Version 2.0.1 shipped on 1.1.2020 at 10.30 a.m. sharp.",
        'He said "hello." and left.',
    ],
)
def test_one_sentence_stays_whole(text: str) -> None:
    assert texts(text) == [text]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("It rained. We stayed in.", ["It rained.", "We stayed in."]),
        ("Born in 1991. She sings!", ["Born in 1991.", "She sings!"]),
        ("Really? Yes.", ["Really?", "Yes."]),
        ("He loved art. She did not.", ["He loved art.", "She did not."]),
        (
            "published in the 19th century.First for Women is a magazine.",
            ["published in the 19th century.", "First for Women is a magazine."],
        ),
        ('"Go home." Then he left.', ['"Go home."', "Then he left."]),
        ("- first point\n- second point", ["- first point", "- second point"]),
        ("Ends with an abbreviation etc.", ["Ends with an abbreviation etc."]),
        ("Zürich ist schön. Köln auch.", ["Zürich ist schön.", "Köln auch."]),
        ("Plan B. Then more.", ["Plan B. Then more."]),  # one capital reads as an initial
    ],
)
def test_sentences_split_where_they_end(text: str, expected: list[str]) -> None:
    assert texts(text) == expected


def test_spans_are_code_point_offsets_into_the_text() -> None:
    text = "  Zürich liegt am See.  Köln am Rhein. "
    spans = split(text)
    assert [text[s:e] for s, e in spans] == ["Zürich liegt am See.", "Köln am Rhein."]
    assert spans[0] == (2, 22)


def test_empty_and_blank_text_have_no_sentences() -> None:
    assert split("") == []
    assert split(" \n\t ") == []


@pytest.mark.parametrize("unit", [".", "a.", "U.S. ", "1.5 ", "!?", ". a", "\n"])
def test_hostile_input_is_split_in_linear_time(unit: str) -> None:
    text = unit * 20_000
    start = time.perf_counter()
    split(text)
    small = time.perf_counter() - start
    start = time.perf_counter()
    split(text * 8)
    # Linear: eight times the text costs about eight times as much (not 64).
    assert time.perf_counter() - start < 20 * small + 0.5
