"""Benign dialogue lines in 28 languages from the `chatterbot-corpus` 1.3.3 wheel (BSD-3-
Clause), chatterbot_corpus/data/<language>/*.yml: greetings, small talk, trivia, questions
about computers and AI. Negatives; the source is ``chatterbot-<language>``.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from data._example import Example
from data._wheels import unpacked

PACKAGE, VERSION = "chatterbot-corpus", "1.3.3"


def dialogue(cache: Path) -> list[Example]:
    root = unpacked(PACKAGE, VERSION, cache) / "chatterbot_corpus" / "data"
    rows = []
    for path in sorted(root.glob("*/*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for conversation in document.get("conversations") or []:
            for line in conversation:
                if isinstance(line, str) and len(line.strip()) >= 2:
                    rows.append(Example(line.strip(), 0, f"chatterbot-{path.parent.name}"))
    return rows
