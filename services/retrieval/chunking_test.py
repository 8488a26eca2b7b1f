"""Chunking: sizes respected, neighbours overlap, sentences kept whole, bad sizes rejected."""

from __future__ import annotations

import re

import pytest

from llmops_core.errors import InvalidArgumentError
from retrieval.chunking import DEFAULT_SIZE, MAX_SIZE, TextSpan, chunk_text

SENTENCES = [
    f"Sentence {i} says something about topic {i % 7}{' at some length' * (i % 3)}."
    for i in range(60)
]
PROSE = " ".join(SENTENCES)
SENTENCE_SPANS = [(m.start(), m.end()) for m in re.finditer(r"Sentence \d+[^.]*\.", PROSE)]


def _check_spans(text: str, chunks: list[TextSpan], size: int) -> None:
    """Every chunk is the text between its offsets, fits the size, and they cover every word in order."""
    for chunk in chunks:
        assert chunk.text == text[chunk.start : chunk.end]
        assert 0 < len(chunk.text) <= size
        assert chunk.text == chunk.text.strip()
    assert [c.start for c in chunks] == sorted(c.start for c in chunks)
    for word in re.finditer(r"\S+", text):
        assert any(c.start <= word.start() and word.end() <= c.end for c in chunks), word.group()


@pytest.mark.parametrize(
    ("size", "overlap"), [(50, 0), (120, 20), (200, 60), (400, 150), (1000, 100)]
)
def test_chunks_fit_the_size_and_cover_the_text(size, overlap):
    chunks = chunk_text(PROSE, size, overlap)
    _check_spans(PROSE, chunks, size)
    assert len(chunks) >= len(PROSE) // size


def test_chunks_start_and_end_on_sentence_boundaries():
    chunks = chunk_text(PROSE, 300, 80)
    starts = {start for start, _ in SENTENCE_SPANS}
    ends = {end for _, end in SENTENCE_SPANS}
    assert len(chunks) > 5
    for chunk in chunks:
        assert chunk.start in starts and chunk.end in ends, chunk.text


def test_neighbours_share_at_most_the_overlap_and_do_share_when_a_sentence_fits():
    overlap = 90  # longer than every sentence of PROSE (at most 75 characters)
    chunks = chunk_text(PROSE, 300, overlap)
    for before, after in zip(chunks, chunks[1:], strict=False):
        shared = before.end - after.start
        assert 0 < shared <= overlap
        assert before.text.endswith(PROSE[after.start : before.end])


def test_overlap_shorter_than_any_sentence_means_neighbours_do_not_share():
    chunks = chunk_text(PROSE, 300, 10)
    assert all(after.start > before.end for before, after in zip(chunks, chunks[1:], strict=False))


def test_a_text_shorter_than_the_size_is_one_chunk():
    assert chunk_text("First. Second!  Third?", 100, 10) == [
        TextSpan("First. Second!  Third?", 0, 22)
    ]


@pytest.mark.parametrize("text", ["", "   ", "\n\n \t\n"])
def test_blank_text_gives_no_chunks(text):
    assert chunk_text(text, 100, 10) == []


def test_a_paragraph_break_is_a_sentence_boundary():
    heading, body = (
        "A heading that has no full stop here",
        "Body sentence number one is written here.",
    )
    chunks = chunk_text(f"{heading}\n\n{body}", 50, 10)
    assert [c.text for c in chunks] == [heading, body]


def test_a_sentence_longer_than_the_size_is_cut_at_words():
    long_sentence = " ".join(f"word{i}" for i in range(60)) + "."
    chunks = chunk_text(long_sentence, 60, 10)
    _check_spans(long_sentence, chunks, 60)
    words = set(re.findall(r"\S+", long_sentence))
    for chunk in chunks:
        assert set(chunk.text.split()) <= words  # no word was cut


def test_a_word_longer_than_the_size_is_cut_into_pieces_of_the_size():
    chunks = chunk_text("x" * 130, 50, 10)
    assert [(c.start, c.end) for c in chunks] == [(0, 50), (50, 100), (100, 130)]


def test_word_chunking_ignores_sentences():
    text = "The quick brown fox jumps over the lazy dog. " * 5
    by_words = chunk_text(text, 50, 10, sentence_aware=False)
    by_sentences = chunk_text(text, 50, 10)
    _check_spans(text, by_words, 50)
    assert by_words[0].text == "The quick brown fox jumps over the lazy dog. The"
    assert by_sentences[0].text == "The quick brown fox jumps over the lazy dog."


def test_zero_size_and_overlap_take_the_defaults():
    text = "Short sentence number. " * 200
    chunks = chunk_text(text)
    _check_spans(text, chunks, DEFAULT_SIZE)
    assert max(len(c.text) for c in chunks) > DEFAULT_SIZE - 30
    assert chunks[1].start < chunks[0].end  # the default overlap applies


def test_unicode_offsets_are_in_characters():
    text = "Über café déjà vu. " * 20
    chunks = chunk_text(text, 60, 20)
    _check_spans(text, chunks, 60)


@pytest.mark.parametrize(
    ("size", "overlap", "message"),
    [
        (49, 0, "chunk_size is 49; it must be between 50 and 8000"),
        (MAX_SIZE + 1, 0, "chunk_size is 8001"),
        (-5, 0, "chunk_size is -5"),
        (
            100,
            50,
            r"chunk_overlap is 50; it must be at least 0 and below half of chunk_size \(50\)",
        ),
        (100, 99, "chunk_overlap is 99"),
        (100, -1, "chunk_overlap is -1"),
    ],
)
def test_invalid_sizes_are_invalid_argument(size, overlap, message):
    with pytest.raises(InvalidArgumentError, match=message):
        chunk_text("Some text. More text.", size, overlap)


def test_the_bounds_themselves_are_allowed():
    assert chunk_text("Some text.", 50, 24)
    assert chunk_text("Some text.", MAX_SIZE, MAX_SIZE // 2 - 1)
