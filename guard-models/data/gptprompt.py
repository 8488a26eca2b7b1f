"""Role and tool prompts from the `gpt-prompt` 0.0.13 wheel (MIT), gpt_prompt/<group>/*.py:
"I want you to act as a translator / an Excel sheet / a math teacher..." style requests
(awesome-chatgpt-prompts family), each class's ``self.english`` string, read as data
(the modules are parsed, not imported). Benign instructions that say "act as", "only
reply", "don't write explanations", except the few jailbreak personas, which are
positives.
"""

from __future__ import annotations

import ast
from pathlib import Path

from data._example import Example
from data._wheels import unpacked

PACKAGE, VERSION = "gpt-prompt", "0.0.13"
# Modules whose prompt is a jailbreak (developer mode, DAN variants, Mongo Tom).
_JAILBREAKS = {"anti_dan", "developer_mode", "mongo_tom_prompt"}


def role_prompts(cache: Path) -> list[Example]:
    root = unpacked(PACKAGE, VERSION, cache) / "gpt_prompt"
    rows = []
    for path in sorted(root.glob("*/*.py")):
        if path.parent.name in ("base", "test") or path.stem == "__init__":
            continue
        label = int(path.stem in _JAILBREAKS)
        rows += [Example(text, label, "gpt-prompt") for text in _prompts(path)]
    return rows


def _prompts(path: Path) -> list[str]:
    """Every prompt string of the module, in English, simplified and traditional Chinese:
    ``self.english`` / ``self.chinese`` / ``self.traditional_chinese`` or module-level
    ``en`` / ``chs``; placeholders take the constructor's default argument (the
    package's own example request)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    defaults: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "__init__":
            args = node.args.args[len(node.args.args) - len(node.args.defaults) :]
            for arg, value in zip(args, node.args.defaults, strict=True):
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    defaults[arg.arg] = value.value
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Assign) or len(node.targets) != 1:
            continue
        target = node.targets[0]
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name not in _NAMES:
            continue
        text = _literal(node.value, defaults)
        # Source lines carry the module's indentation inside the literal.
        text = "\n".join(line.strip() for line in text.strip().splitlines())
        if text:
            out.append(text)
    return out


_NAMES = {"english", "chinese", "traditional_chinese", "en", "chs"}


def _literal(node: ast.expr, defaults: dict[str, str]) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if not isinstance(node, ast.JoinedStr):
        return ""
    parts = []
    for part in node.values:
        if isinstance(part, ast.Constant):
            parts.append(str(part.value))
        elif isinstance(part, ast.FormattedValue) and isinstance(part.value, ast.Name):
            parts.append(defaults.get(part.value.id, ""))
    return "".join(parts)
