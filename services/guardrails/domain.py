"""Deciding under a policy: the policy's checks run concurrently; findings at or over a
check's threshold trigger its action, and the decision is the most severe action.

A check that raises or runs past its time (its own timeout, else what is left of the
policy's budget) does not fail the request: the policy's failure mode decides. Fail
open lets the text through and says so in the verdict; fail closed blocks.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from guardrails.catalog import CheckCatalog
from guardrails.policy import ACTIONS, CheckSettings, PolicyVersion
from llmops_core import Finding, Guard, GuardInput, get_logger, require_text
from llmops_core.errors import InvalidArgumentError

MAX_CONTEXT_PASSAGES = 100


@dataclass(frozen=True)
class Verdict:
    check: str
    passed: bool
    score: float  # highest finding score, those under the threshold included
    action: str
    findings: tuple[
        tuple[Finding, str], ...
    ]  # findings at or over the threshold, each with its action
    duration_ms: float
    error: str = ""
    raw: tuple[Finding, ...] = ()  # everything the check reported, thresholds aside


@dataclass(frozen=True)
class Decision:
    action: str
    verdicts: tuple[Verdict, ...]
    redacted_text: str
    policy: str
    policy_version: int
    duration_ms: float

    @property
    def allowed(self) -> bool:
        return self.action != "block"


class PolicySource(Protocol):
    """Where policies come from (the policy registry)."""

    async def resolve(self, name: str, *, version: int = 0, label: str = "") -> PolicyVersion: ...


def worst(actions: Sequence[str]) -> str:
    return max(actions, key=ACTIONS.index, default="allow")


class Guardrails:
    def __init__(
        self,
        catalog: CheckCatalog,
        policies: PolicySource,
        *,
        default_policy: str,
        max_chars: int,
    ) -> None:
        self.catalog = catalog
        self.policies = policies
        self.default_policy = default_policy
        self.max_chars = max_chars
        self._log = get_logger("llmops.guardrails")

    async def policy(self, name: str = "", version: int = 0, label: str = "") -> PolicyVersion:
        if version < 0:
            raise InvalidArgumentError(f"policy_version is {version}; use 0 (by label) or more")
        return await self.policies.resolve(
            name or self.default_policy, version=version, label=label
        )

    def item(
        self,
        stage: str,
        text: str,
        *,
        context: Sequence[str] = (),
        question: str = "",
        system_prompt: str = "",
    ) -> GuardInput:
        """A validated input for the checks of ``stage``."""
        require_text(text, "text", max_chars=self.max_chars)
        if len(context) > MAX_CONTEXT_PASSAGES:
            raise InvalidArgumentError(
                f"{len(context)} context passages; the limit is {MAX_CONTEXT_PASSAGES}"
            )
        passages_chars = sum(len(p) for p in context) + len(question) + len(system_prompt)
        if passages_chars > self.max_chars * 4:
            raise InvalidArgumentError(
                f"context, input and system prompt hold {passages_chars} characters; "
                f"the limit is {self.max_chars * 4}"
            )
        return GuardInput(
            text=text,
            stage=stage,
            context=tuple(context),
            question=question,
            system_prompt=system_prompt,
        )

    async def check(
        self,
        stage: str,
        text: str,
        *,
        context: Sequence[str] = (),
        question: str = "",
        system_prompt: str = "",
        policy: str = "",
        policy_version: int = 0,
        policy_label: str = "",
    ) -> Decision:
        item = self.item(
            stage, text, context=context, question=question, system_prompt=system_prompt
        )
        resolved = await self.policy(policy, policy_version, policy_label)
        return await self.decide(resolved, item)

    async def decide(
        self,
        policy: PolicyVersion,
        item: GuardInput,
        *,
        checks: Sequence[CheckSettings] | None = None,
    ) -> Decision:
        """Runs ``checks`` (default: the policy's for the item's stage) on ``item``."""
        started = time.perf_counter()
        selected = policy.checks(item.stage) if checks is None else checks
        deadline = started + policy.time_budget_ms / 1000
        try:
            verdicts = await asyncio.gather(
                *(self._run(policy, settings, item, deadline) for settings in selected)
            )
        finally:
            item.shared.cancel()
        action = worst([v.action for v in verdicts])
        return Decision(
            action=action,
            verdicts=tuple(verdicts),
            redacted_text=redact(item.text, verdicts) if action == "redact" else "",
            policy=policy.name,
            policy_version=policy.version,
            duration_ms=(time.perf_counter() - started) * 1000,
        )

    async def _run(
        self, policy: PolicyVersion, settings: CheckSettings, item: GuardInput, deadline: float
    ) -> Verdict:
        started = time.perf_counter()
        guard = self.catalog.instance(settings.check, settings.options)
        budget = deadline - started
        if settings.timeout_ms is not None:
            budget = min(budget, settings.timeout_ms / 1000)
        try:
            findings = await asyncio.wait_for(guard.check(item), timeout=max(budget, 0.0))
        except Exception as exc:  # noqa: BLE001 - one broken check must not hide the others
            return self._failed(policy, settings, guard, exc, budget, started)
        return judge(settings, guard, findings, (time.perf_counter() - started) * 1000)

    def _failed(
        self,
        policy: PolicyVersion,
        settings: CheckSettings,
        guard: Guard,
        exc: Exception,
        budget: float,
        started: float,
    ) -> Verdict:
        mode = settings.failure_mode or (
            "open" if getattr(guard.config, "fail_open", False) else policy.failure_mode
        )
        if isinstance(exc, TimeoutError):
            what = f"ran past its time ({budget * 1000:.0f} ms)"
        else:
            what = f"failed: {type(exc).__name__}: {exc}"
            self._log.warning("check failed", check=settings.check, error=what)
        action, outcome = ("log", "passed") if mode == "open" else ("block", "blocked")
        return Verdict(
            check=settings.check,
            passed=mode == "open",
            score=0.0,
            action=action,
            findings=(),
            duration_ms=(time.perf_counter() - started) * 1000,
            error=f"{what}; failure mode {mode}: {outcome}",
        )


def judge(
    settings: CheckSettings, guard: Guard, findings: Sequence[Finding], duration_ms: float
) -> Verdict:
    """Applies a check's threshold and actions to what it found."""
    config = guard.config
    threshold = settings.threshold if settings.threshold is not None else config.threshold
    default_action = settings.action or config.action
    kept = tuple(
        (f, category_action(settings.category_actions, f.category, default_action))
        for f in findings
        if f.score >= threshold
    )
    action = worst([a for _, a in kept])
    return Verdict(
        check=settings.check,
        passed=action in ("allow", "log"),
        score=max((f.score for f in findings), default=0.0),
        action=action,
        findings=kept,
        duration_ms=duration_ms,
        raw=tuple(findings),
    )


def category_action(actions: Mapping[str, str], category: str, default: str) -> str:
    """The action for ``category``: its own entry, else its parent's (``pii`` for
    ``pii.email``), else the check's."""
    while category:
        if category in actions:
            return actions[category]
        category = category.rpartition(".")[0]
    return default


def redact(text: str, verdicts: Sequence[Verdict]) -> str:
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
        # "[EMAIL]" for pii.email: the kind of thing removed, not the check's taxonomy.
        pieces.extend([text[position:start], f"[{category.rpartition('.')[2].upper()}]"])
        position = end
    pieces.append(text[position:])
    return "".join(pieces)
