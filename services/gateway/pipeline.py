"""The request path of Chat, stage by stage (see the architecture in the README).

1. resolve the prompt (cached)   2. input guard and retrieval, concurrently
3. render the prompt with the question and numbered passages   4. generate
5. output guard against the passages   6. record the trace, without waiting for it
Each stage is timed; a blocked input or output ends the request with a refusal
and is still traced.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TypeVar

from llmops.v1 import (
    common_pb2,
    gateway_pb2,
    guardrails_pb2,
    inference_pb2,
    monitoring_pb2,
    retrieval_pb2,
)
from llmops_core import (
    GatewaySettings,
    current_trace_id,
    get_logger,
    new_trace_id,
    require_name,
    require_text,
    templates,
)
from llmops_sdk import (
    GuardrailsClient,
    InferenceClient,
    MonitoringClient,
    PromptCache,
    RetrievalClient,
)

T = TypeVar("T")
BLOCKED_INPUT_ANSWER = "I can't help with that request."
BLOCKED_OUTPUT_ANSWER = "I can't give a reliable answer to that from the available sources."
_CITATION = re.compile(r"\[(\d+)\]")


@dataclass
class Clients:
    prompts: PromptCache
    retrieval: RetrievalClient
    guardrails: GuardrailsClient
    inference: InferenceClient
    monitoring: MonitoringClient


@dataclass
class _Timer:
    timings: list[common_pb2.StageTiming] = field(default_factory=list)

    async def time(self, stage: str, work: Awaitable[T]) -> T:
        started = time.perf_counter()
        try:
            return await work
        finally:
            self.timings.append(
                common_pb2.StageTiming(
                    stage=stage, duration_ms=(time.perf_counter() - started) * 1000
                )
            )


class ChatPipeline:
    def __init__(self, clients: Clients, settings: GatewaySettings) -> None:
        self.clients = clients
        self.settings = settings
        self._pending: set[asyncio.Task] = set()
        self._log = get_logger("llmops.gateway")

    async def chat(self, request: gateway_pb2.ChatRequest) -> gateway_pb2.ChatResponse:
        started = time.perf_counter()
        question = require_text(
            request.message, "message", max_chars=self.settings.max_message_chars
        )
        prompt_ref = common_pb2.PromptRef(
            name=request.prompt.name or self.settings.default_prompt,
            version=request.prompt.version,
            label=""
            if request.prompt.version
            else request.prompt.label or self.settings.default_label,
        )
        require_name(prompt_ref.name, "prompt.name")
        collection = request.collection or self.settings.default_collection
        top_k = request.top_k or self.settings.top_k
        policy = request.policy or self.settings.default_policy
        timer = _Timer()
        response = gateway_pb2.ChatResponse(
            trace_id=current_trace_id() or new_trace_id(), route=request.route or "default"
        )

        resolved = await timer.time(
            "prompt",
            self.clients.prompts.resolve(
                prompt_ref.name,
                label=prompt_ref.label,
                version=prompt_ref.version,
                sticky_key=request.sticky_key,
            ),
        )
        version = resolved.version
        response.prompt.CopyFrom(
            common_pb2.PromptRef(name=version.name, version=version.version, label=resolved.label)
        )
        input_check, search = await asyncio.gather(
            timer.time(
                "guard_input",
                self.clients.guardrails.rpc.CheckInput(
                    guardrails_pb2.CheckInputRequest(text=question, policy=policy)
                ),
            ),
            timer.time(
                "retrieval",
                self.clients.retrieval.rpc.Search(
                    retrieval_pb2.SearchRequest(collection=collection, query=question, k=top_k)
                ),
            ),
        )
        response.input_guard.CopyFrom(input_check.decision)
        response.collection_revision = search.revision
        hits = list(search.hits)

        if not input_check.decision.allowed:
            response.answer = BLOCKED_INPUT_ANSWER
            response.outcome = common_pb2.OUTCOME_BLOCKED_INPUT
            return self._finish(request, response, timer, started, collection, hits)
        if input_check.decision.redacted_text:
            question = input_check.decision.redacted_text

        generate = self._render(version, request, question, hits)
        generated = await timer.time("generation", self.clients.inference.rpc.Generate(generate))
        response.model = generated.model
        response.usage.CopyFrom(generated.usage)
        answer = generated.text.strip()

        output_check = await timer.time(
            "guard_output",
            self.clients.guardrails.rpc.CheckOutput(
                guardrails_pb2.CheckOutputRequest(
                    text=answer or "(empty answer)",
                    context=[h.text for h in hits],
                    input=question,
                    policy=policy,
                    # What a system-prompt leak would reveal: the rendered system turns.
                    system_prompt="\n".join(
                        m.content for m in generate.messages if m.role == "system"
                    ),
                )
            ),
        )
        response.output_guard.CopyFrom(output_check.decision)
        if not output_check.decision.allowed:
            response.answer = BLOCKED_OUTPUT_ANSWER
            response.outcome = common_pb2.OUTCOME_BLOCKED_OUTPUT
        else:
            response.answer = output_check.decision.redacted_text or answer
            response.outcome = common_pb2.OUTCOME_OK
            response.citations.extend(citations(response.answer, hits))
        return self._finish(request, response, timer, started, collection, hits)

    def _render(self, version, request, question: str, hits) -> inference_pb2.GenerateRequest:
        content = version.content
        variables = {**request.variables, "question": question, "context": format_context(hits)}
        templates.check_values(list(content.variables), variables)
        generate = inference_pb2.GenerateRequest(model=request.model or content.model_config.model)
        generate.sampling.CopyFrom(content.model_config.sampling)
        generate.sampling.MergeFrom(request.sampling)  # per-request overrides win
        if content.template:
            generate.prompt = templates.parse(content.template).render(variables)
            return generate
        rendered = [
            common_pb2.ChatMessage(
                role=m.role, content=templates.parse(m.content).render(variables)
            )
            for m in content.messages
        ]
        system = [m for m in rendered if m.role == "system"]
        rest = [m for m in rendered if m.role != "system"]
        generate.messages.extend(system + list(request.history) + rest)
        return generate

    def _finish(
        self, request, response, timer: _Timer, started: float, collection: str, hits
    ) -> gateway_pb2.ChatResponse:
        response.timings.extend(timer.timings)
        response.total_ms = (time.perf_counter() - started) * 1000
        trace = monitoring_pb2.Trace(
            trace_id=response.trace_id,
            prompt=response.prompt,
            collection=collection,
            collection_revision=response.collection_revision,
            hit_ids=[h.chunk_id for h in hits],
            input_guard=response.input_guard,
            output_guard=response.output_guard,
            model=response.model,
            usage=response.usage,
            timings=response.timings,
            total_ms=response.total_ms,
            outcome=response.outcome,
            input=request.message,
            output=response.answer,
            route=response.route,
            policy=_policy_applied(response) or request.policy or self.settings.default_policy,
            context=[h.text for h in hits],
        )
        trace.start_time.GetCurrentTime()
        self._record_later(trace)
        return response

    def _record_later(self, trace: monitoring_pb2.Trace) -> None:
        """Monitoring never blocks the reply: the trace is sent in the background."""
        task = asyncio.create_task(self._record(trace))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _record(self, trace: monitoring_pb2.Trace) -> None:
        try:
            await self.clients.monitoring.rpc.RecordTrace(
                monitoring_pb2.RecordTraceRequest(trace=trace), timeout=10.0
            )
        except Exception as exc:  # noqa: BLE001 - a lost trace is logged, never the user's error
            self._log.warning("trace not recorded", trace_id=trace.trace_id, error=str(exc))

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait for traces still being sent (at shutdown)."""
        if self._pending:
            await asyncio.wait(self._pending, timeout=timeout)

    async def close(self) -> None:
        await self.drain()


def _policy_applied(response: gateway_pb2.ChatResponse) -> str:
    """``name@version`` of the guardrail policy the decisions applied (the input's)."""
    decision = response.input_guard
    return f"{decision.policy}@{decision.policy_version}" if decision.policy else ""


def format_context(hits) -> str:
    """Numbered passages, ``[1] Title: text``: the numbers the prompt asks the model to cite."""
    return "\n\n".join(
        f"[{index}] {hit.title + ': ' if hit.title else ''}{hit.text}"
        for index, hit in enumerate(hits, 1)
    )


def citations(answer: str, hits) -> list[gateway_pb2.Citation]:
    """The passages the answer cites by number; if it cites none, every passage it was given."""
    cited = [int(n) for n in dict.fromkeys(_CITATION.findall(answer)) if 0 < int(n) <= len(hits)]
    numbers = cited or list(range(1, len(hits) + 1))
    return [
        gateway_pb2.Citation(
            index=n,
            document_id=hits[n - 1].document_id,
            chunk_id=hits[n - 1].chunk_id,
            title=hits[n - 1].title,
            source=hits[n - 1].source,
            snippet=hits[n - 1].text[:240],
            score=hits[n - 1].score,
        )
        for n in numbers
    ]
