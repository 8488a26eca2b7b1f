"""Spans claimed in order of priority: a later candidate that overlaps an earlier one is dropped."""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from typing import Protocol, TypeVar


class Spanned(Protocol):
    @property
    def start(self) -> int: ...

    @property
    def end(self) -> int: ...


S = TypeVar("S", bound=Spanned)


def claim(candidates: Iterable[S]) -> list[S]:
    """The candidates that overlap no earlier accepted one, in text order (log time per claim)."""
    claimed: list[S] = []
    starts: list[int] = []
    for candidate in candidates:
        at = bisect.bisect_left(starts, candidate.start)
        if (at and claimed[at - 1].end > candidate.start) or (
            at < len(claimed) and claimed[at].start < candidate.end
        ):
            continue
        claimed.insert(at, candidate)
        starts.insert(at, candidate.start)
    return claimed
