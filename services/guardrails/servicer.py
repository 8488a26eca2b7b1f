"""gRPC mapping of the guardrails service."""

from __future__ import annotations

from guardrails.domain import Decision, Guardrails
from llmops.v1 import common_pb2, guardrails_pb2, guardrails_pb2_grpc

ACTIONS = {
    "allow": common_pb2.GUARD_ACTION_ALLOW,
    "log": common_pb2.GUARD_ACTION_LOG,
    "flag": common_pb2.GUARD_ACTION_FLAG,
    "redact": common_pb2.GUARD_ACTION_REDACT,
    "block": common_pb2.GUARD_ACTION_BLOCK,
}


class GuardrailsServicer(guardrails_pb2_grpc.GuardrailsServiceServicer):
    def __init__(self, guardrails: Guardrails) -> None:
        self.guardrails = guardrails

    async def CheckInput(self, request, context):
        decision = await self.guardrails.check(
            "input", request.text, policy=request.policy or "default"
        )
        return guardrails_pb2.CheckInputResponse(decision=decision_to_proto(decision))

    async def CheckOutput(self, request, context):
        decision = await self.guardrails.check(
            "output",
            request.text,
            context=list(request.context),
            question=request.input,
            policy=request.policy or "default",
        )
        return guardrails_pb2.CheckOutputResponse(decision=decision_to_proto(decision))

    async def ListChecks(self, request, context):
        return guardrails_pb2.ListChecksResponse(
            checks=[
                guardrails_pb2.CheckInfo(name=name, stage=stage, description=description)
                for name, stage, description in self.guardrails.checks()
            ]
        )


def decision_to_proto(decision: Decision) -> common_pb2.GuardDecision:
    return common_pb2.GuardDecision(
        action=ACTIONS[decision.action],
        allowed=decision.allowed,
        redacted_text=decision.redacted_text,
        policy=decision.policy,
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
