"""../shared/datasets/halueval_qa_dev.jsonl: HaluEval QA (MIT), the project's development
file. Its questions are benign negatives for the injection head; its knowledge passages
carry the synthetic indirect injections of ``indirect.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

from data._example import Example


def _rows(path: Path) -> list[dict]:
    with path.open() as f:
        return [json.loads(line) for line in f if line.strip()]


def questions(path: Path) -> list[Example]:
    return [Example(r["question"], 0, "halueval-questions") for r in _rows(path)]


def passages(path: Path) -> list[str]:
    return [r["knowledge"] for r in _rows(path)]
