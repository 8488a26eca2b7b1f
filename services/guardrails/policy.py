"""What a guardrail policy is: which checks run at each stage, and how their findings act.

A policy version is immutable. Its ``content()`` (JSON-able, canonical) is what the
store versions and hashes; ``from_content`` reads it back. Nothing here knows about
Redis or protobuf.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

ACTIONS = ("allow", "log", "flag", "redact", "block")  # by severity: the worst one wins
FAILURE_MODES = ("open", "closed")
STAGES = ("input", "output")
DEFAULT_TIME_BUDGET_MS = 2000.0


@dataclass(frozen=True)
class StreamingSettings:
    """How CheckOutputStream cuts a streamed answer into windows."""

    window_chars: int = 200
    overlap_chars: int = 50
    sentence_aware: bool = True


@dataclass(frozen=True)
class CheckSettings:
    """One check within a policy. ``None`` means: the check's own default."""

    check: str
    threshold: float | None = None
    action: str | None = None
    category_actions: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    failure_mode: str | None = None  # None: the policy's
    timeout_ms: float | None = None  # None: the policy's time budget

    def content(self) -> dict[str, Any]:
        data: dict[str, Any] = {"check": self.check}
        for key in ("threshold", "action", "failure_mode", "timeout_ms"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        if self.category_actions:
            data["category_actions"] = dict(sorted(self.category_actions.items()))
        if self.options:
            data["options"] = dict(self.options)
        return data

    @classmethod
    def from_content(cls, data: Mapping[str, Any]) -> CheckSettings:
        return cls(
            check=data["check"],
            threshold=data.get("threshold"),
            action=data.get("action"),
            category_actions=dict(data.get("category_actions", {})),
            options=dict(data.get("options", {})),
            failure_mode=data.get("failure_mode"),
            timeout_ms=data.get("timeout_ms"),
        )


@dataclass(frozen=True)
class PolicyVersion:
    """One version of a policy; ``version`` 0 means not stored yet."""

    name: str
    input_checks: tuple[CheckSettings, ...] = ()
    output_checks: tuple[CheckSettings, ...] = ()
    failure_mode: str = "closed"
    time_budget_ms: float = DEFAULT_TIME_BUDGET_MS
    streaming: StreamingSettings = StreamingSettings()
    description: str = ""
    version: int = 0
    author: str = ""
    commit_message: str = ""
    created_at: float = 0.0
    labels: tuple[str, ...] = ()

    @property
    def ref(self) -> str:
        """``name@version``, as decisions and traces name it."""
        return f"{self.name}@{self.version}"

    def checks(self, stage: str) -> tuple[CheckSettings, ...]:
        return self.input_checks if stage == "input" else self.output_checks

    def content(self) -> dict[str, Any]:
        """The versioned part: everything but name, version and who/when/why."""
        return {
            "description": self.description,
            "failure_mode": self.failure_mode,
            "time_budget_ms": self.time_budget_ms,
            "streaming": {
                "window_chars": self.streaming.window_chars,
                "overlap_chars": self.streaming.overlap_chars,
                "sentence_aware": self.streaming.sentence_aware,
            },
            "input": [c.content() for c in self.input_checks],
            "output": [c.content() for c in self.output_checks],
        }

    @property
    def content_hash(self) -> str:
        canonical = json.dumps(self.content(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    @classmethod
    def from_content(cls, name: str, data: Mapping[str, Any], **stored: Any) -> PolicyVersion:
        streaming = data.get("streaming", {})
        return cls(
            name=name,
            input_checks=tuple(CheckSettings.from_content(c) for c in data.get("input", ())),
            output_checks=tuple(CheckSettings.from_content(c) for c in data.get("output", ())),
            failure_mode=data.get("failure_mode", "closed"),
            time_budget_ms=float(data.get("time_budget_ms", DEFAULT_TIME_BUDGET_MS)),
            streaming=StreamingSettings(**streaming),
            description=data.get("description", ""),
            **stored,
        )

    def stored_as(self, version: int, **stored: Any) -> PolicyVersion:
        return replace(self, version=version, **stored)
