"""Documents into chunks: sentence-aware packing up to a size, with overlap between neighbours.

Sizes are in characters (cheap, model-independent). Sentences are kept whole where
they fit, so a chunk rarely starts or ends mid-sentence; a sentence longer than a
chunk is cut at word boundaries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from llmops_core.errors import InvalidArgumentError

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n\s*\n")
DEFAULT_SIZE = 800
DEFAULT_OVERLAP = 120
MAX_SIZE = 8000


@dataclass(frozen=True)
class TextSpan:
    text: str
    start: int
    end: int


def chunk_text(
    text: str, size: int = 0, overlap: int = 0, *, sentence_aware: bool = True
) -> list[TextSpan]:
    size = size or DEFAULT_SIZE
    overlap = overlap if overlap else min(DEFAULT_OVERLAP, size // 4)
    if not 50 <= size <= MAX_SIZE:
        raise InvalidArgumentError(f"chunk_size is {size}; it must be between 50 and {MAX_SIZE}")
    if not 0 <= overlap < size // 2:
        raise InvalidArgumentError(
            f"chunk_overlap is {overlap}; it must be at least 0 and below half of chunk_size ({size // 2})"
        )
    units = _sentences(text) if sentence_aware else _words(text)
    pieces = [p for unit in units for p in _split_long(unit, size)]
    chunks: list[TextSpan] = []
    current: list[TextSpan] = []
    for piece in pieces:
        if current and piece.end - current[0].start > size:
            chunks.append(_join(text, current))
            current = _tail(current, overlap)
            while current and piece.end - current[0].start > size:
                current.pop(0)
        current.append(piece)
    if current:
        chunks.append(_join(text, current))
    return chunks


def _sentences(text: str) -> list[TextSpan]:
    spans, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        if text[start : match.start()].strip():
            spans.append(_trimmed(text, start, match.start()))
        start = match.end()
    if text[start:].strip():
        spans.append(_trimmed(text, start, len(text)))
    return spans


def _words(text: str) -> list[TextSpan]:
    return [TextSpan(m.group(), m.start(), m.end()) for m in re.finditer(r"\S+", text)]


def _trimmed(text: str, start: int, end: int) -> TextSpan:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return TextSpan(text[start:end], start, end)


def _split_long(unit: TextSpan, size: int) -> list[TextSpan]:
    """A unit longer than ``size`` becomes its words; a word longer than ``size`` is cut."""
    if unit.end - unit.start <= size:
        return [unit]
    pieces = []
    for word in _words(unit.text):
        for i in range(0, len(word.text), size):
            start = unit.start + word.start + i
            pieces.append(
                TextSpan(word.text[i : i + size], start, start + len(word.text[i : i + size]))
            )
    return pieces


def _tail(pieces: list[TextSpan], overlap: int) -> list[TextSpan]:
    """The last pieces of a chunk whose span fits in ``overlap`` characters."""
    kept: list[TextSpan] = []
    for piece in reversed(pieces):
        if pieces[-1].end - piece.start > overlap:
            break
        kept.insert(0, piece)
    return kept


def _join(text: str, pieces: list[TextSpan]) -> TextSpan:
    start, end = pieces[0].start, pieces[-1].end
    return TextSpan(text[start:end], start, end)
