"""The groundedness check against the real local model server (Triton model `groundedness`)."""

from __future__ import annotations

import pytest

from llmops_core import GuardInput, PluginContext, Settings
from llmops_guards.groundedness import GroundednessConfig, GroundednessGuard

PASSAGES = [
    "The Oberoi family is an Indian family that is famous for its involvement in hotels, "
    "namely through The Oberoi Group.The Oberoi Group is a hotel company with its head "
    "office in Delhi.",
    "Allison Beth Goertz (born March 2, 1991) is an American musician. Goertz is known for "
    "her satirical songs based on various pop culture topics.",
    "KZPS (92.5 FM) is a classic rock station in Dallas. Dr. J. Smith hosted the morning "
    "show on 96.3 Rock Radio for 3.5 years.",
]
QUESTION = "The Oberoi family is part of a hotel company that has a head office in what city?"


@pytest.fixture
async def guard(triton_url: str):
    check = GroundednessGuard(GroundednessConfig(endpoints=[triton_url]), PluginContext(Settings()))
    yield check
    await check.close()


async def _check(guard: GroundednessGuard, answer: str, question: str = QUESTION):
    return await guard.check(GuardInput(answer, "output", PASSAGES, question))


def _worst(findings) -> float:
    return max(f.score for f in findings)


async def test_a_short_supported_answer_passes_and_a_short_invented_one_is_flagged(guard):
    threshold = guard.config.threshold
    supported = await _check(guard, "Delhi")
    invented = await _check(guard, "Mumbai")
    assert len(supported) == len(invented) == 1  # a one-word answer is judged too
    assert supported[0].score < threshold <= invented[0].score
    assert invented[0].category == "ungrounded"
    assert invented[0].spans == ((0, 6),)


async def test_restating_the_question_earns_no_support(guard):
    # Every word but "Mumbai" is in the question; only the passages may support it.
    findings = await _check(
        guard, "The Oberoi family's hotel company has its head office in Mumbai."
    )
    assert _worst(findings) >= guard.config.threshold


async def test_the_unsupported_sentence_of_a_long_answer_is_the_one_flagged(guard):
    answer = (
        "Allison Beth Goertz (born March 2, 1991) is an American musician. "
        "She is known for satirical songs about pop culture. "
        "She won the Nobel Prize in Physics in 2019 for work on dark matter. "
        "Dr. J. Smith hosted the morning show on 96.3 Rock Radio."
    )
    findings = await _check(guard, answer, "Who is Allie Goertz?")
    assert len(findings) == 4  # "Dr. J. Smith" and "96.3" do not split sentences
    flagged = [f for f in findings if f.score >= guard.config.threshold]
    invented = answer.index("She won")
    assert [f.spans for f in flagged] == [((invented, answer.index(" Dr.")),)]


async def test_a_changed_number_is_caught(guard):
    right = await _check(
        guard, "Dr. J. Smith hosted the show on 96.3 Rock Radio for 3.5 years.", ""
    )
    wrong = await _check(
        guard, "Dr. J. Smith hosted the show on 96.3 Rock Radio for 7.5 years.", ""
    )
    assert _worst(right) < guard.config.threshold <= _worst(wrong)


async def test_without_passages_the_whole_answer_is_reported(guard):
    answer = "Delhi is the city."
    findings = await guard.check(GuardInput(answer, "output", (), QUESTION))
    assert [(f.category, f.score, f.spans) for f in findings] == [
        ("ungrounded", 1.0, ((0, len(answer)),))
    ]
    assert await guard.check(GuardInput("  ", "output", PASSAGES, QUESTION)) == []


async def test_health_names_the_model(guard):
    health = await guard.health()
    assert health.ok and "groundedness" in health.detail
