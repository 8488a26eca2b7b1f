"""Synthetic indirect injections: instructions hidden in mail, web pages and documents.

The labelled sets are mostly direct user turns; attacks that arrive inside retrieved or
forwarded content look different (a benign document with one planted instruction). This
builds both sides from the same wrappers, so the wrapper itself carries no label:
positives plant an injection from the given pool into a HaluEval knowledge passage
wrapped as an e-mail, a web page, a document or a tool result; negatives are the same
wrappers around a passage with a benign text of the pool planted instead. Seeded, so reruns agree.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from data._example import Example

_WRAPPERS = (
    "From: {sender}\nTo: support@example.com\nSubject: {subject}\n\nHello,\n\n{body}\n\nBest regards,\n{name}",
    "Summarize this e-mail for me:\n---\nSubject: {subject}\n{body}\n---",
    "<html><body><h1>{subject}</h1><p>{body}</p></body></html>",
    "Document: {subject}\n\n{body}",
    "Tool result (web_search):\n{body}",
    "Please translate the following text into French:\n\n{body}",
    'Here is the customer review to classify:\n"{body}"',
)
_SENDERS = (
    "alice@example.org",
    "billing@vendor.example",
    "j.smith@corp.example",
    "noreply@news.example",
)
_SUBJECTS = (
    "Quarterly update",
    "Re: your order",
    "Meeting notes",
    "Invoice 2291",
    "Travel plans",
    "Article draft",
)
_NAMES = ("Alice", "Bob", "Chen", "Dana", "Emre")


def _wrap(rng: random.Random, passage: str, plant: str) -> str:
    sentences = passage.split(". ")
    sentences.insert(rng.randrange(len(sentences) + 1), plant)
    return rng.choice(_WRAPPERS).format(
        sender=rng.choice(_SENDERS),
        subject=rng.choice(_SUBJECTS),
        name=rng.choice(_NAMES),
        body=". ".join(sentences),
    )


def build(
    passages: Sequence[str],
    injections: Sequence[str],
    benign: Sequence[str],
    count: int,
    seed: int,
    source: str,
) -> list[Example]:
    """``count`` positives and ``count`` negatives; plants longer than 400 characters
    (whole jailbreak scripts) are skipped: planted instructions are short."""
    rng = random.Random(seed)
    short = [t for t in injections if len(t) <= 400]
    plain = [t for t in benign if len(t) <= 400]
    if not short or not plain or not passages:
        return []
    rows = []
    for _ in range(count):
        rows.append(Example(_wrap(rng, rng.choice(passages), rng.choice(short)), 1, source))
        rows.append(Example(_wrap(rng, rng.choice(passages), rng.choice(plain)), 0, source))
    return rows
