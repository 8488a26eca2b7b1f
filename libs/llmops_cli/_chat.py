"""``llmops chat``: one question through the gateway, the whole answer shown."""

from __future__ import annotations

from google.protobuf import json_format

from llmops.v1 import common_pb2, gateway_pb2
from llmops_cli._output import Output
from llmops_core import Settings
from llmops_sdk import GatewayClient

_ACTIONS = {v: k.removeprefix("GUARD_ACTION_").lower() for k, v in common_pb2.GuardAction.items()}


async def ask(
    settings: Settings,
    question: str,
    *,
    prompt: str = "",
    label: str = "",
    collection: str = "",
    top_k: int = 0,
    timeout: float = 120.0,
) -> gateway_pb2.ChatResponse:
    request = gateway_pb2.ChatRequest(
        message=question,
        prompt=common_pb2.PromptRef(name=prompt, label=label),
        collection=collection,
        top_k=top_k,
    )
    async with GatewayClient(settings.gateway.address) as gateway:
        return await gateway.rpc.Chat(request, timeout=timeout)


def show(out: Output, reply: gateway_pb2.ChatResponse) -> None:
    data = json_format.MessageToDict(reply, preserving_proto_field_name=True)
    out.result(data, human=render(reply))


def render(reply: gateway_pb2.ChatResponse) -> str:
    lines = [reply.answer, ""]
    if reply.citations:
        lines.append("Citations:")
        lines += [
            f"  [{c.index}] {c.title} ({c.document_id}, score {c.score:.2f})"
            for c in reply.citations
        ]
    for stage, decision in (("input", reply.input_guard), ("output", reply.output_guard)):
        verdicts = ", ".join(
            f"{v.check}={'pass' if v.passed else _ACTIONS.get(v.action, '?')}"
            for v in decision.verdicts
        )
        if verdicts:
            lines.append(f"Guards ({stage}): {_ACTIONS.get(decision.action, '?')} [{verdicts}]")
    prompt = reply.prompt
    lines.append(
        f"Prompt: {prompt.name}@{prompt.version}" + (f" ({prompt.label})" if prompt.label else "")
    )
    lines.append(
        f"Model: {reply.model or '-'}  tokens in/out: {reply.usage.input_tokens}/{reply.usage.output_tokens}"
    )
    lines.append(
        f"Outcome: {common_pb2.Outcome.Name(reply.outcome).removeprefix('OUTCOME_').lower()}"
    )
    lines.append(f"Trace: {reply.trace_id}")
    timings = "  ".join(f"{t.stage} {t.duration_ms:.0f}" for t in reply.timings)
    lines.append(f"Timings (ms): {timings}  total {reply.total_ms:.0f}")
    return "\n".join(lines)
