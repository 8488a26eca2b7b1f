"""gRPC mapping of the guardrails service."""

from __future__ import annotations

from collections.abc import AsyncIterator

from guardrails.domain import Decision, Guardrails
from guardrails.evaluation import Evaluation, Example, evaluate
from guardrails.policies import PolicyRegistry
from guardrails.policy_servicer import PolicyRpcs
from guardrails.streaming import AnswerStream, AnswerWindows
from llmops.v1 import common_pb2, guardrails_pb2, guardrails_pb2_grpc
from llmops_core import DetectionReport, ScoredExample
from llmops_core.errors import InvalidArgumentError

ACTIONS = {
    "allow": common_pb2.GUARD_ACTION_ALLOW,
    "log": common_pb2.GUARD_ACTION_LOG,
    "flag": common_pb2.GUARD_ACTION_FLAG,
    "redact": common_pb2.GUARD_ACTION_REDACT,
    "block": common_pb2.GUARD_ACTION_BLOCK,
}
STAGES = {"input": guardrails_pb2.GUARD_STAGE_INPUT, "output": guardrails_pb2.GUARD_STAGE_OUTPUT}
STAGE_NAMES = {value: name for name, value in STAGES.items()}


class GuardrailsServicer(PolicyRpcs, guardrails_pb2_grpc.GuardrailsServiceServicer):
    def __init__(self, guardrails: Guardrails, policies: PolicyRegistry) -> None:
        self.guardrails = guardrails
        self.policies = policies  # the policy RPCs (PolicyRpcs) use it

    async def CheckInput(self, request, context):
        decision = await self.guardrails.check(
            "input",
            request.text,
            policy=request.policy,
            policy_version=request.policy_version,
            policy_label=request.policy_label,
        )
        return guardrails_pb2.CheckInputResponse(decision=decision_to_proto(decision))

    async def CheckOutput(self, request, context):
        decision = await self.guardrails.check(
            "output",
            request.text,
            context=list(request.context),
            question=request.input,
            system_prompt=request.system_prompt,
            policy=request.policy,
            policy_version=request.policy_version,
            policy_label=request.policy_label,
        )
        return guardrails_pb2.CheckOutputResponse(decision=decision_to_proto(decision))

    async def CheckOutputStream(
        self, request_iterator, context
    ) -> AsyncIterator[guardrails_pb2.CheckOutputStreamResponse]:
        messages = aiter(request_iterator)
        first = await anext(messages, None)
        if first is None or first.WhichOneof("event") != "config":
            raise InvalidArgumentError(
                "the first message of CheckOutputStream must be a config (policy, context)",
                reason="CONFIG_FIRST",
            )
        config = first.config
        policy = await self.guardrails.policy(
            config.policy, config.policy_version, config.policy_label
        )
        windows = AnswerWindows(policy.streaming, max_chars=self.guardrails.max_chars)
        stream = AnswerStream(
            self.guardrails,
            policy,
            context=list(config.context),
            question=config.input,
            system_prompt=config.system_prompt,
        )
        async for message in messages:
            if message.WhichOneof("event") != "delta":
                raise InvalidArgumentError(
                    "a second config in one CheckOutputStream call; send deltas after the first",
                    reason="SECOND_CONFIG",
                )
            try:
                ready = windows.add(message.delta)
            except ValueError as exc:
                raise InvalidArgumentError(str(exc), reason="FIELD_TOO_LONG") from exc
            for window in ready:
                decision = await stream.window(windows.text, window)
                yield window_to_proto(decision, window.start, window.end)
                if not decision.allowed:
                    # The block is sent at once; the call ends when the client stops sending
                    # (ending it while the client still writes fails the client's write).
                    async for _ in messages:
                        pass
                    return
        tail = windows.finish()
        if tail is not None:
            decision = await stream.window(windows.text, tail)
            yield window_to_proto(decision, tail.start, tail.end)
            if not decision.allowed:
                return
        if windows.text.strip():
            decision = await stream.whole(windows.text)
            yield guardrails_pb2.CheckOutputStreamResponse(
                decision=decision_to_proto(decision),
                window_start=0,
                window_end=len(windows.text),
                final=True,
            )

    async def ListChecks(self, request, context):
        return guardrails_pb2.ListChecksResponse(
            checks=[
                guardrails_pb2.CheckInfo(
                    name=info.name,
                    stage=info.stage,
                    description=info.description,
                    categories=info.categories,
                    plugin=info.origin,
                    supports_redaction=info.supports_redaction,
                    default_threshold=info.default_threshold,
                    default_action=ACTIONS[info.default_action],
                    needs_context=info.needs_context,
                )
                for info in self.guardrails.catalog.info()
            ]
        )

    async def RunEvaluation(self, request, context):
        policy = await self.guardrails.policy(
            request.policy, request.policy_version, request.policy_label
        )
        examples = [example_from_proto(e, index) for index, e in enumerate(request.examples)]
        result = await evaluate(
            self.guardrails,
            policy,
            examples,
            checks=list(request.checks),
            target_fpr=request.target_fpr or 0.05,
        )
        return evaluation_to_proto(result, include_examples=request.include_examples)


def example_from_proto(example: guardrails_pb2.GuardExample, index: int) -> Example:
    name = example.id or f"#{index + 1}"
    stage = STAGE_NAMES.get(example.stage)
    if stage is None:
        raise InvalidArgumentError(
            f"example '{name}' has no stage; set GUARD_STAGE_INPUT or GUARD_STAGE_OUTPUT",
            reason="MISSING_STAGE",
        )
    return Example(
        id=name,
        stage=stage,
        text=example.text,
        expected_flagged=example.expected_flagged,
        expected_category=example.expected_category,
        context=tuple(example.context),
        question=example.input,
    )


def evaluation_to_proto(
    evaluation: Evaluation, *, include_examples: bool
) -> guardrails_pb2.RunEvaluationResponse:
    return guardrails_pb2.RunEvaluationResponse(
        policy=evaluation.policy.name,
        policy_version=evaluation.policy.version,
        checks=[report_to_proto(c, s, r) for c, s, r in evaluation.reports],
        examples=[
            guardrails_pb2.GuardExampleResult(
                id=result.example.id,
                decision=decision_to_proto(result.decision),
                correct=result.scores[-1][1].flagged == result.example.expected_flagged,
                expected_flagged=result.example.expected_flagged,
                check_scores=[score_to_proto(check, s) for check, s in result.scores],
            )
            for result in evaluation.results
        ]
        if include_examples
        else [],
    )


def score_to_proto(check: str, scored: ScoredExample) -> guardrails_pb2.CheckScore:
    return guardrails_pb2.CheckScore(
        check=check,
        flagged=scored.flagged,
        score=scored.score,
        latency_ms=scored.latency_ms,
        error=scored.error,
    )


def report_to_proto(check: str, stage: str, r: DetectionReport) -> guardrails_pb2.CheckEvaluation:
    return guardrails_pb2.CheckEvaluation(
        check=check,
        stage=STAGES[stage],
        true_positives=r.true_positives,
        false_positives=r.false_positives,
        true_negatives=r.true_negatives,
        false_negatives=r.false_negatives,
        precision=r.precision,
        recall=r.recall,
        f1=r.f1,
        false_positive_rate=r.false_positive_rate,
        latency_mean_ms=r.latency_mean_ms,
        latency_p50_ms=r.latency_p50_ms,
        latency_p95_ms=r.latency_p95_ms,
        latency_p99_ms=r.latency_p99_ms,
        error_count=r.errors,
        auc=r.auc,
        recall_at_fpr=r.recall_at_fpr,
        target_fpr=r.target_fpr,
        threshold_at_fpr=r.threshold_at_fpr,
        examples=r.examples,
        worst_misses=[
            guardrails_pb2.EvaluationMiss(
                id=m.id, expected_flagged=m.expected, score=m.score, text=m.text
            )
            for m in r.worst_misses
        ],
    )


def window_to_proto(
    decision: Decision, start: int, end: int
) -> guardrails_pb2.CheckOutputStreamResponse:
    return guardrails_pb2.CheckOutputStreamResponse(
        decision=decision_to_proto(decision), window_start=start, window_end=end
    )


def decision_to_proto(decision: Decision) -> common_pb2.GuardDecision:
    return common_pb2.GuardDecision(
        action=ACTIONS[decision.action],
        allowed=decision.allowed,
        redacted_text=decision.redacted_text,
        policy=decision.policy,
        policy_version=decision.policy_version,
        duration_ms=decision.duration_ms,
        verdicts=[
            common_pb2.GuardVerdict(
                check=v.check,
                passed=v.passed,
                score=v.score,
                action=ACTIONS[v.action],
                duration_ms=v.duration_ms,
                error=v.error,
                findings=[
                    common_pb2.GuardFinding(
                        check=v.check,
                        category=f.category,
                        score=f.score,
                        message=f.message,
                        action=ACTIONS[action],
                        spans=[
                            common_pb2.Span(start=s, end=e, label=f.category) for s, e in f.spans
                        ],
                    )
                    for f, action in v.findings
                ],
            )
            for v in decision.verdicts
        ],
    )
