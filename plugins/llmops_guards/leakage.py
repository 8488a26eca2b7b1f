"""System-prompt leakage: passages of the answer that copy the system prompt, near verbatim.

Both texts become word tokens (NFKC, casefolded; punctuation and spacing dropped; Han,
kana and Hangul one token per character). Every run of ``SHINGLE`` prompt words goes
into a hash index. An answer shingle found there seeds a passage, which extends word by
word and steps over up to ``max_gap`` changed, inserted or dropped words, so light
editing does not break a copy. Each passage is then compared character by character
with the prompt words it copies (rapidfuzz's Indel similarity), which judges a near-
verbatim copy by its letters, typos included.

The score is the larger of the share of the prompt's words the answer copies (a short
prompt repeated) and the strongest passage, ``similarity * min(1, words /
full_leak_words)`` (one paragraph lifted from a long prompt). Passages shorter than
``min_words`` are ignored: an answer may share a few words, a name or a stock phrase
with its prompt. Time is linear in both lengths: indexing and seeding are hash
look-ups, seeds per shingle are capped, the scan resumes after each passage found, and
the character comparisons cover disjoint stretches of the answer.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass
from typing import ClassVar

from pydantic import Field
from rapidfuzz.distance import Indel

from llmops_core import Finding, GuardInput
from llmops_guards._base import Action, GuardConfig, LocalGuard

SHINGLE = 3
MAX_SEEDS = 8  # places in the prompt one answer shingle may be copied from
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_CJK_CHAR = re.compile(f"[{_CJK}]")
# Captured, so that split() returns gaps and words in turn: one pass gives both.
_WORDS = re.compile(r"(\w+)")
_WORDS_AND_CJK = re.compile(rf"([^\W{_CJK}]+|[{_CJK}])")


@dataclass(frozen=True)
class _Passage:
    """A copied passage: token ranges (ends exclusive) and its similarity by characters."""

    answer_start: int
    answer_end: int
    prompt_start: int
    prompt_end: int
    similarity: float


class SystemPromptLeakConfig(GuardConfig):
    action: Action = "block"
    threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    min_words: int = Field(default=8, ge=SHINGLE, le=100)  # shorter copies are common phrasing
    full_leak_words: int = Field(default=20, ge=1, le=10_000)  # one copied run this long: score 1
    max_gap: int = Field(default=4, ge=0, le=50)  # words changed between two copied runs
    min_similarity: float = Field(default=0.7, ge=0.0, le=1.0)  # of a passage, by characters


class SystemPromptLeakGuard(LocalGuard):
    name: ClassVar[str] = "system-prompt-leak"
    Config: ClassVar[type[GuardConfig]] = SystemPromptLeakConfig
    stages: ClassVar[frozenset[str]] = frozenset({"output"})
    description: ClassVar[str] = (
        "Passages of the answer that copy the system prompt verbatim or nearly so."
    )
    categories: ClassVar[tuple[str, ...]] = ("system_prompt_leak",)
    needs_context: ClassVar[bool] = False
    supports_redaction: ClassVar[bool] = False

    async def check(self, item: GuardInput) -> list[Finding]:
        config: SystemPromptLeakConfig = self.config  # type: ignore[assignment]
        prompt = _tokens(item.system_prompt)[0]
        if len(prompt) < SHINGLE or not item.text:
            return []
        answer, pieces = _tokens(item.text)
        # A prompt shorter than min_words leaks only when all of it is copied.
        least = min(config.min_words, len(prompt))
        leaked: list[tuple[_Passage, float]] = []
        for passage in _passages(answer, prompt, config.max_gap, least):
            if passage.similarity >= config.min_similarity:
                leaked.append((passage, passage.similarity))
        if not leaked:
            return []
        covered = _covered(leaked, len(prompt))
        strongest = max(
            s * min(1.0, (p.prompt_end - p.prompt_start) / config.full_leak_words)
            for p, s in leaked
        )
        share = covered / len(prompt)
        starts, ends = _offsets(pieces)  # only now: most answers leak nothing
        spans = tuple((starts[p.answer_start], ends[p.answer_end - 1]) for p, _ in leaked)
        longest = max(p.prompt_end - p.prompt_start for p, _ in leaked)
        return [
            Finding(
                "system_prompt_leak",
                round(max(share, strongest), 4),
                f"the answer copies {share:.0%} of the system prompt in {len(leaked)} "
                f"passage(s), the longest {longest} words",
                spans,
            )
        ]


def _tokens(text: str) -> tuple[list[str], list[str]]:
    """The text's words, folded, and its pieces: gap, word, gap, ..., gap (as written)."""
    if text.isascii():
        pieces = _WORDS.split(text.lower())  # same lengths as the text's own pieces
        return pieces[1::2], pieces
    # The plain word pattern is twice as fast; most texts have no CJK character.
    pattern = _WORDS_AND_CJK if _CJK_CHAR.search(text) else _WORDS
    pieces = pattern.split(text)
    words = [
        t.lower() if t.isascii() else unicodedata.normalize("NFKC", t).casefold()
        for t in pieces[1::2]
    ]
    return words, pieces


def _offsets(pieces: list[str]) -> tuple[list[int], list[int]]:
    """Start and end offset of every word, from the lengths of the pieces."""
    edges = list(itertools.accumulate(map(len, pieces)))
    return edges[0::2][:-1], edges[1::2]


def _passages(answer: list[str], prompt: list[str], max_gap: int, least: int) -> list[_Passage]:
    """Copied passages of at least ``least`` prompt words, left to right in the answer.

    Seed and extend: an answer shingle found in the prompt seeds a passage at each place
    the prompt has it (the first ``MAX_SEEDS``); each seed extends word by word, skipping
    up to ``max_gap`` differing words on either side; the longest wins and the scan goes
    on after it, so every answer word is passed over a bounded number of times.
    """
    index: dict[tuple[str, ...], list[int]] = {}
    for j, shingle in enumerate(zip(*(prompt[k:] for k in range(SHINGLE)), strict=False)):
        positions = index.setdefault(shingle, [])
        if len(positions) < MAX_SEEDS:
            positions.append(j)
    shingles = zip(*(answer[k:] for k in range(SHINGLE)), strict=False)
    starts = list(itertools.compress(itertools.count(), map(index.__contains__, shingles)))
    passages = []
    i = 0  # the scan resumes here
    for start in starts:
        if start < i:
            continue  # inside the passage just found
        i = start
        seeds = index[tuple(answer[i : i + SHINGLE])]
        # The copy reaching furthest into the prompt; ties go to the earliest seed.
        j, (a, p, distance) = max(
            ((j, _extend(answer, prompt, i, j, max_gap)) for j in seeds),
            key=lambda seed: seed[1][1] - seed[0],
        )
        if p - j >= least:
            chars = sum(map(len, answer[i:a])) + sum(map(len, prompt[j:p])) + (a - i) + (p - j)
            passages.append(_Passage(i, a, j, p, 1.0 - distance / chars))
            i = a
    return passages


def _extend(
    answer: list[str], prompt: list[str], i: int, j: int, max_gap: int
) -> tuple[int, int, int]:
    """Where the copy from prompt word ``j`` at answer word ``i`` ends in each, and its
    Indel distance along this alignment: equal words cost nothing, the words stepped over
    cost their Indel distance, so a long passage costs no more than walking it."""
    a, p, distance = i, j, 0
    while True:
        a, p = _equal_run(answer, prompt, a, p)
        resumed = _resume(answer, prompt, a, p, max_gap)
        if resumed is None:
            break
        x, y = resumed
        distance += Indel.distance(" ".join(answer[a:x]), " ".join(prompt[p:y]))
        a, p = resumed
    return a, p, distance


def _equal_run(answer: list[str], prompt: list[str], a: int, p: int) -> tuple[int, int]:
    """Where the words from ``a`` and ``p`` on stop being equal (long blocks compared at once)."""
    step = 64
    while answer[a : a + step] == prompt[p : p + step] and a + step <= len(answer):
        if p + step > len(prompt):
            break
        a, p = a + step, p + step
    while a < len(answer) and p < len(prompt) and answer[a] == prompt[p]:
        a, p = a + 1, p + 1
    return a, p


def _resume(answer: list[str], prompt: list[str], a: int, p: int, max_gap: int):
    """The nearest place after a mismatch where a shingle matches again, if within reach."""
    for total in range(1, 2 * max_gap + 1):
        for skip_a in range(max(0, total - max_gap), min(total, max_gap) + 1):
            x, y = a + skip_a, p + total - skip_a
            if x + SHINGLE > len(answer) or y + SHINGLE > len(prompt):
                continue
            if answer[x : x + SHINGLE] == prompt[y : y + SHINGLE]:
                return x, y
    return None


def _covered(leaked: list[tuple[_Passage, float]], length: int) -> int:
    """How many prompt words the leaked passages copy (overlaps counted once)."""
    marks = bytearray(length)
    for passage, _ in leaked:
        marks[passage.prompt_start : passage.prompt_end] = b"\x01" * (
            passage.prompt_end - passage.prompt_start
        )
    return sum(marks)
