"""Checking an answer while it streams: cut it into windows, release text only once the
window holding it passed.

Guard frameworks that stream first and check later let unchecked tokens reach the user.
Here the caller may show text up to a window's ``end`` only after that window's decision
allowed it, so the hold-back is at most one window of text (plus the check's time).
Each window repeats ``overlap_chars`` of already-released text before its new text, so
a finding that spans a cut (an e-mail address split over two deltas) is still seen.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from guardrails.domain import Decision, Guardrails, Verdict, redact
from guardrails.policy import PolicyVersion, StreamingSettings
from llmops_core import Finding, GuardInput

# A sentence ends at . ! ? (or a newline) followed by whitespace: the cut goes after it.
_SENTENCE_END = re.compile(r"[.!?\n][\"')\]]*\s")
_SPACE = re.compile(r"\s")


@dataclass(frozen=True)
class Window:
    """Text ``[start, end)`` to check; ``[release_from, end)`` is new and released if it passes."""

    start: int
    release_from: int
    end: int


class AnswerWindows:
    def __init__(self, settings: StreamingSettings, *, max_chars: int) -> None:
        self.settings = settings
        self.max_chars = max_chars
        self.text = ""
        self.released = 0  # end of the last window handed out

    def add(self, delta: str) -> list[Window]:
        """Appends a delta; returns the windows that are now full."""
        if len(self.text) + len(delta) > self.max_chars:
            raise ValueError(
                f"the answer passed {self.max_chars} characters, the limit of one check"
            )
        self.text += delta
        windows = []
        while len(self.text) - self.released >= self.settings.window_chars:
            windows.append(self._window(self._cut()))
        return windows

    def finish(self) -> Window | None:
        """The last, partial window once the answer is complete; None when nothing is left."""
        if self.released >= len(self.text):
            return None
        return self._window(len(self.text))

    def _cut(self) -> int:
        """Where the next window ends: after the last sentence end in it when sentence-aware
        (and at least half a window in), else after the last whitespace, else the full size."""
        low = self.released + self.settings.window_chars // 2
        high = self.released + self.settings.window_chars
        candidates = (_SENTENCE_END, _SPACE) if self.settings.sentence_aware else (_SPACE,)
        for pattern in candidates:
            cut = 0
            for match in pattern.finditer(self.text, low, high):
                cut = match.end()
            if cut:
                return cut
        return high

    def _window(self, end: int) -> Window:
        window = Window(
            start=max(0, self.released - self.settings.overlap_chars),
            release_from=self.released,
            end=end,
        )
        self.released = end
        return window


class AnswerStream:
    """Decisions on the windows of one streamed answer, under one policy.

    Windows run the policy's output checks except those that need the complete answer
    (``needs_complete_text``, e.g. JSON-schema validity); the final decision runs them all
    on the whole answer. Spans come back as offsets in the whole answer, and a window's
    ``redacted_text`` is its released text with redactions applied.
    """

    def __init__(
        self,
        guardrails: Guardrails,
        policy: PolicyVersion,
        *,
        context: Sequence[str],
        question: str,
        system_prompt: str,
    ) -> None:
        self.guardrails = guardrails
        self.policy = policy
        self.context = tuple(context)
        self.question = question
        self.system_prompt = system_prompt
        self.partial_checks = tuple(
            settings
            for settings in policy.output_checks
            if not getattr(
                guardrails.catalog.instance(settings.check, settings.options),
                "needs_complete_text",
                False,
            )
        )

    async def window(self, answer: str, window: Window) -> Decision:
        item = self._item(answer[window.start : window.end])
        decision = await self.guardrails.decide(self.policy, item, checks=self.partial_checks)
        verdicts = tuple(_shifted(v, window.start) for v in decision.verdicts)
        released = answer[window.release_from : window.end]
        return replace(
            decision,
            verdicts=verdicts,
            redacted_text=redact(
                released, tuple(_shifted(v, -window.release_from) for v in verdicts)
            )
            if decision.action == "redact"
            else "",
        )

    async def whole(self, answer: str) -> Decision:
        return await self.guardrails.decide(self.policy, self._item(answer))

    def _item(self, text: str) -> GuardInput:
        return GuardInput(
            text=text,
            stage="output",
            context=self.context,
            question=self.question,
            system_prompt=self.system_prompt,
        )


def _shifted(verdict: Verdict, offset: int) -> Verdict:
    """The verdict with every span moved by ``offset`` (spans that fall before 0 are cut)."""

    def move(finding: Finding) -> Finding:
        spans = tuple(
            (max(start + offset, 0), end + offset)
            for start, end in finding.spans
            if end + offset > 0
        )
        return replace(finding, spans=spans)

    return replace(
        verdict,
        findings=tuple((move(f), action) for f, action in verdict.findings),
        raw=tuple(move(f) for f in verdict.raw),
    )
