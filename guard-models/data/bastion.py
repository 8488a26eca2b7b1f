"""The prompt-injection corpus of the `bastioncorpus` 0.6.0 wheel (MIT),
bastioncorpus/corpus/injections.jsonl: hand-written attacks (overrides, personas,
exfiltration, obfuscation, tool-output injections; en, de, fr, es, it) beside benign
rows that look like them (support requests, encoded data, tool results).
"""

from __future__ import annotations

import json
from pathlib import Path

from data._example import Example
from data._wheels import unpacked

PACKAGE, VERSION = "bastioncorpus", "0.6.0"


def injections(cache: Path) -> list[Example]:
    path = unpacked(PACKAGE, VERSION, cache) / "bastioncorpus" / "corpus" / "injections.jsonl"
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            if row["label"] in ("malicious", "benign") and row["text"].strip():
                rows.append(Example(row["text"], int(row["label"] == "malicious"), "bastion"))
    return rows
