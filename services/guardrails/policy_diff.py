"""Differences between two policy versions: a unified diff of their YAML, and every changed setting."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

import yaml

from guardrails.policy import PolicyVersion


def document(policy: PolicyVersion) -> dict[str, Any]:
    """The policy as people read and write it (the body of a policy file)."""
    return {"name": policy.name, **policy.content()}


def to_yaml(policy: PolicyVersion) -> str:
    return yaml.safe_dump(document(policy), sort_keys=False, allow_unicode=True, width=100)


def unified_diff(older: PolicyVersion, newer: PolicyVersion) -> str:
    lines = difflib.unified_diff(
        to_yaml(older).splitlines(),
        to_yaml(newer).splitlines(),
        fromfile=older.ref,
        tofile=newer.ref,
        lineterm="",
    )
    return "\n".join(lines)


def changed_fields(older: PolicyVersion, newer: PolicyVersion) -> list[str]:
    """Dotted paths of every changed setting, e.g. ``input_checks.pii.threshold``.

    A check added or removed is its own path (``output_checks.refusal``); checks named in
    another order (they run concurrently, but the order is part of the version) show as
    ``input_checks``.
    """
    before, after = older.content(), newer.content()
    changes: list[str] = []
    for key in ("description", "failure_mode", "time_budget_ms"):
        _walk(key, before[key], after[key], changes)
    _walk("streaming", before["streaming"], after["streaming"], changes)
    for stage in ("input", "output"):
        path = f"{stage}_checks"
        old = {check["check"]: check for check in before[stage]}
        new = {check["check"]: check for check in after[stage]}
        found = len(changes)
        for name in sorted(old.keys() | new.keys()):
            if name not in old or name not in new:
                changes.append(f"{path}.{name}")
            else:
                _walk(f"{path}.{name}", old[name], new[name], changes)
        if len(changes) == found and list(old) != list(new):
            changes.append(path)
    return changes


def _walk(path: str, old: Any, new: Any, changes: list[str]) -> None:
    if isinstance(old, Mapping | None) and isinstance(new, Mapping | None) and old != new:
        # A mapping left out (no options, no category actions) compares as an empty one.
        old, new = old or {}, new or {}
        for key in sorted(old.keys() | new.keys()):
            _walk(f"{path}.{key}", old.get(key), new.get(key), changes)
    elif old != new:
        changes.append(path)
