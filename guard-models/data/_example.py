"""A labelled text and where it came from."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Example:
    text: str
    label: int  # 1: injection or jailbreak; 0: benign
    source: str  # "package==version:path" family name used for by-source splits


def normalised_key(text: str) -> str:
    """What counts as the same text when deduplicating (case, spacing, Unicode forms)."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()
