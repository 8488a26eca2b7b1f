"""Running checks and deciding: findings over a check's threshold trigger its action.

Checks of one stage run concurrently; the decision is the most severe action any
of them triggered. A check that fails to run blocks (fail-closed) unless its
config says ``fail_open``, and the error is reported in its verdict either way.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

from llmops_core import Finding, Guard, GuardInput, get_logger, require_text
from llmops_core.errors import InvalidArgumentError

SEVERITY = ("allow", "log", "flag", "redact", "block")
MAX_CONTEXT_PASSAGES = 100


@dataclass(frozen=True)
class Verdict:
    check: str
    passed: bool
    score: float
    action: str
    findings: tuple[tuple[Finding, str], ...]  # each finding with the action it triggers
    duration_ms: float
    error: str = ""


@dataclass(frozen=True)
class Decision:
    action: str
    verdicts: tuple[Verdict, ...]
    redacted_text: str
    policy: str
    duration_ms: float

    @property
    def allowed(self) -> bool:
        return self.action != "block"


class Guardrails:
    def __init__(
        self, input_guards: Sequence[Guard], output_guards: Sequence[Guard], *, max_chars: int
    ) -> None:
        self.guards = {"input": list(input_guards), "output": list(output_guards)}
        self.max_chars = max_chars
        self._log = get_logger("llmops.guardrails")

    def checks(self) -> list[tuple[str, str, str]]:
        """(name, stage, description) of every configured check, by name."""
        return sorted(
            (g.name, stage, g.description) for stage, guards in self.guards.items() for g in guards
        )

    async def check(
        self,
        stage: str,
        text: str,
        *,
        context: Sequence[str] = (),
        question: str = "",
        policy: str = "default",
    ) -> Decision:
        require_text(text, "text", max_chars=self.max_chars)
        if len(context) > MAX_CONTEXT_PASSAGES:
            raise InvalidArgumentError(
                f"{len(context)} context passages; the limit is {MAX_CONTEXT_PASSAGES}"
            )
        item = GuardInput(text=text, stage=stage, context=tuple(context), question=question)
        started = time.perf_counter()
        verdicts = await asyncio.gather(*(self._run(guard, item) for guard in self.guards[stage]))
        action = max((v.action for v in verdicts), key=SEVERITY.index, default="allow")
        return Decision(
            action=action,
            verdicts=tuple(verdicts),
            redacted_text=_redact(text, verdicts) if action == "redact" else "",
            policy=policy,
            duration_ms=(time.perf_counter() - started) * 1000,
        )

    async def _run(self, guard: Guard, item: GuardInput) -> Verdict:
        config = guard.config
        started = time.perf_counter()
        try:
            findings = await guard.check(item)
        except Exception as exc:  # noqa: BLE001 - one broken check must not hide the others
            self._log.exception("check failed", check=guard.name)
            action = "log" if getattr(config, "fail_open", False) else "block"
            return Verdict(
                guard.name,
                action != "block",
                0.0,
                action,
                (),
                (time.perf_counter() - started) * 1000,
                f"{type(exc).__name__}: {exc}",
            )
        triggered = tuple(
            (f, config.action if f.score >= config.threshold else "log") for f in findings
        )
        action = max((a for _, a in triggered), key=SEVERITY.index, default="allow")
        return Verdict(
            check=guard.name,
            passed=action in ("allow", "log"),
            score=max((f.score for f in findings), default=0.0),
            action=action,
            findings=triggered,
            duration_ms=(time.perf_counter() - started) * 1000,
        )


def _redact(text: str, verdicts: Sequence[Verdict]) -> str:
    """Replace every span a redacting finding covers; overlapping spans merge into one."""
    spans = sorted(
        (
            (start, end, finding.category)
            for verdict in verdicts
            for finding, action in verdict.findings
            if action == "redact"
            for start, end in finding.spans
        ),
        key=lambda span: (span[0], -span[1]),  # at one start, the longest span first
    )
    merged: list[list] = []
    for start, end, category in spans:
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end, category])
    pieces, position = [], 0
    for start, end, category in merged:
        pieces.extend([text[position:start], f"[{category.upper()}]"])
        position = end
    pieces.append(text[position:])
    return "".join(pieces)
