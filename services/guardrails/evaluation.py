"""Evaluating checks on labelled examples, as the policy would run them on traffic.

Each example runs through the same decision as CheckInput/CheckOutput. A check counts an
example as flagged when it reported a finding at or over its threshold (of the expected
category, when the example names one); its score is its highest finding score, so AUC and
recall at a chosen false-positive rate do not depend on the threshold in force.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from guardrails.domain import Decision, Guardrails, Verdict
from guardrails.policy import CheckSettings, PolicyVersion
from llmops_core import DetectionReport, ScoredExample, detection_report
from llmops_core.errors import InvalidArgumentError, LlmopsError, ResourceExhaustedError

MAX_EXAMPLES = 10_000
POLICY = "policy"  # the combined decision's entry
_CONCURRENCY = 4


@dataclass(frozen=True)
class Example:
    id: str
    stage: str
    text: str
    expected_flagged: bool
    expected_category: str = ""
    context: tuple[str, ...] = ()
    question: str = ""


@dataclass(frozen=True)
class ExampleResult:
    example: Example
    decision: Decision
    scores: tuple[tuple[str, ScoredExample], ...]  # (check, how it scored), "policy" last


@dataclass(frozen=True)
class Evaluation:
    policy: PolicyVersion
    reports: tuple[tuple[str, str, DetectionReport], ...]  # (check, stage, report)
    results: tuple[ExampleResult, ...]


async def evaluate(
    guardrails: Guardrails,
    policy: PolicyVersion,
    examples: Sequence[Example],
    *,
    checks: Sequence[str] = (),
    target_fpr: float = 0.05,
) -> Evaluation:
    if not examples:
        raise InvalidArgumentError("no examples to evaluate; send at least one")
    if len(examples) > MAX_EXAMPLES:
        raise ResourceExhaustedError(
            f"{len(examples)} examples in one call; the limit is {MAX_EXAMPLES}: send batches"
        )
    if not 0.0 <= target_fpr < 1.0:
        raise InvalidArgumentError(f"target_fpr is {target_fpr}; it must be in [0, 1)")
    for name in checks:
        guardrails.catalog.validate(
            CheckSettings(check=name), _stage_of(guardrails, name), "checks"
        )
    items = [_item(guardrails, example) for example in examples]
    gate = asyncio.Semaphore(_CONCURRENCY)

    async def run(example: Example, index: int) -> ExampleResult:
        async with gate:
            selected = _selected(guardrails, policy, example.stage, checks)
            decision = await guardrails.decide(policy, items[index], checks=selected)
        return ExampleResult(example, decision, _scores(example, decision))

    results = await asyncio.gather(*(run(e, i) for i, e in enumerate(examples)))
    return Evaluation(policy, reports(results, target_fpr=target_fpr), tuple(results))


def reports(
    results: Sequence[ExampleResult], *, target_fpr: float
) -> tuple[tuple[str, str, DetectionReport], ...]:
    grouped: dict[tuple[str, str], list[ScoredExample]] = defaultdict(list)
    for result in results:
        for check, scored in result.scores:
            grouped[(check, result.example.stage)].append(scored)
    ordered = sorted(grouped, key=lambda key: (key[0] == POLICY, key[1], key[0]))
    return tuple(
        (check, stage, detection_report(grouped[(check, stage)], target_fpr=target_fpr))
        for check, stage in ordered
    )


def _stage_of(guardrails: Guardrails, check: str) -> str:
    for info in guardrails.catalog.info():
        if info.name == check:
            return info.stage
    return "input"  # unknown: validate() names the installed checks


def _selected(
    guardrails: Guardrails, policy: PolicyVersion, stage: str, checks: Sequence[str]
) -> tuple[CheckSettings, ...]:
    if not checks:
        return policy.checks(stage)
    runs_at = {(info.name, info.stage) for info in guardrails.catalog.info()}
    return tuple(CheckSettings(check=name) for name in checks if (name, stage) in runs_at)


def _item(guardrails: Guardrails, example: Example):
    try:
        return guardrails.item(
            example.stage, example.text, context=example.context, question=example.question
        )
    except LlmopsError as exc:
        raise InvalidArgumentError(f"example '{example.id}': {exc}") from exc


def _scores(example: Example, decision: Decision) -> tuple[tuple[str, ScoredExample], ...]:
    scored = [(v.check, _scored(example, v)) for v in decision.verdicts]
    overall = ScoredExample(
        expected=example.expected_flagged,
        flagged=any(s.flagged for _, s in scored),
        score=max((s.score for _, s in scored), default=0.0),
        latency_ms=decision.duration_ms,
        error=any(s.error for _, s in scored),
        id=example.id,
        text=example.text[:200],
    )
    return (*scored, (POLICY, overall))


def _scored(example: Example, verdict: Verdict) -> ScoredExample:
    category = example.expected_category

    def matches(found: str) -> bool:
        return not category or found == category or found.startswith(category + ".")

    return ScoredExample(
        expected=example.expected_flagged,
        flagged=any(matches(f.category) for f, _ in verdict.findings),
        score=max((f.score for f in verdict.raw if matches(f.category)), default=0.0),
        latency_ms=verdict.duration_ms,
        error=bool(verdict.error),
        id=example.id,
        text=example.text[:200],
    )
