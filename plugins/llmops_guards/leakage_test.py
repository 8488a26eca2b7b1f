"""System-prompt leakage: verbatim and lightly edited copies found, shared words ignored."""

from __future__ import annotations

import asyncio
import random
import time

import pytest

from llmops_core import GuardInput, PluginContext, Settings
from llmops_guards.leakage import SystemPromptLeakConfig, SystemPromptLeakGuard

PROMPT = (
    "You are Aria, the support assistant of Northwind Bank. Never reveal internal fee tables. "
    "Always answer in a friendly tone and keep answers under 120 words. If a customer asks "
    "about mortgages, direct them to the mortgage desk at extension 4410. Do not discuss "
    "competitors. The secret escalation code is BLUE-HARBOR-77; only give it to verified staff."
)


def _guard(**options) -> SystemPromptLeakGuard:
    return SystemPromptLeakGuard(SystemPromptLeakConfig(**options), PluginContext(Settings()))


async def _check(answer: str, prompt: str = PROMPT, **options):
    return await _guard(**options).check(GuardInput(answer, "output", system_prompt=prompt))


async def test_a_verbatim_copy_scores_one_and_its_span_covers_the_copy():
    answer = "Sure! My instructions say: " + PROMPT + " Anything else?"
    [finding] = await _check(answer)
    assert finding.category == "system_prompt_leak" and finding.score == 1.0
    [(start, end)] = finding.spans
    assert answer[start:end] == PROMPT[:-1]  # words only: the final "." is not a word
    assert "100% of the system prompt" in finding.message


async def test_case_punctuation_and_spacing_do_not_hide_a_copy():
    answer = (
        "my instructions:  you are ARIA - the support assistant of northwind bank... never "
        "reveal internal fee-tables!!! always answer in a friendly tone, and keep answers "
        "under 120 words"
    )
    [finding] = await _check(answer)
    assert finding.score == 1.0
    assert "the longest 26 words" in finding.message


async def test_small_edits_and_typos_still_leak():
    answer = (
        "I was told: You are Aria, the helpdesk assistant of Northwind Bank. Never disclose "
        "internal fee tables. Always reply in a freindly tone and keep replies under 120 words."
    )
    [finding] = await _check(answer)
    assert 0.6 < finding.score < 1.0  # near-verbatim: high, not perfect


async def test_one_sentence_lifted_from_a_long_prompt_is_a_leak():
    long_prompt = " ".join(
        [PROMPT] + [f"Rule {i}: reply politely to topic {i}." for i in range(300)]
    )
    answer = "Here is something: The secret escalation code is BLUE-HARBOR-77; only give it to verified staff."
    [finding] = await _check(answer, prompt=long_prompt)
    assert finding.score >= 0.5  # 14 copied words from a prompt of 2,000
    assert "1% of the system prompt" in finding.message or "0% of" in finding.message


async def test_answers_that_share_a_few_words_do_not_leak():
    for answer in (
        "Our mortgage desk can help you: please call extension 4410. Have a friendly day!",
        "I am Aria, the support assistant. How can I help with your account today?",
        "You are welcome! Northwind Bank is open from 9 to 5, and the desk answers in minutes.",
    ):
        assert await _check(answer) == [], answer


async def test_a_short_copy_below_min_words_is_ignored_but_reported_when_configured():
    answer = "Remember: never reveal internal fee tables to anyone."
    assert await _check(answer) == []
    [finding] = await _check(answer, min_words=3)
    assert finding.score < 0.5  # five words out of a full leak's twenty


async def test_a_short_prompt_leaks_only_when_copied_whole():
    prompt = "Be brief and polite."
    [finding] = await _check("My rules: be brief, and polite!", prompt=prompt)
    assert finding.score == 1.0
    assert await _check("Be brief with me, please.", prompt=prompt) == []


async def test_non_latin_prompts_are_matched_per_character():
    prompt = "你是北风银行的客服助理。不要透露内部费用表。"
    [finding] = await _check("好的：你是北风银行的客服助理。不要透露内部费用表。", prompt=prompt)
    assert finding.score == 1.0
    assert await _check("北风银行营业时间是九点到五点。", prompt=prompt) == []


async def test_fullwidth_and_compatibility_forms_are_folded():
    answer = "Ｙｏｕ ａｒｅ Ａｒｉａ, the support assistant of Northwind Bank. Never reveal internal fee tables."
    [finding] = await _check(answer)
    assert finding.score == pytest.approx(14 / 20)  # 14 words copied exactly
    assert finding.spans == ((0, len(answer) - 1),)


async def test_no_system_prompt_or_no_answer_finds_nothing():
    assert await _check("You are Aria, the support assistant.", prompt="") == []
    assert await _check("", prompt=PROMPT) == []


def _random_text(rng: random.Random, words: int) -> str:
    vocabulary = [f"{w}{n}" for w in ("alpha", "beta", "gamma", "delta") for n in range(300)]
    return " ".join(rng.choice(vocabulary) for _ in range(words))


@pytest.mark.parametrize("case", ["unrelated", "copied five times", "repetitive"])
def test_long_inputs_take_bounded_time(case):
    rng = random.Random(7)
    prompt = _random_text(rng, 3000)[:20_000]
    answer = {
        "unrelated": _random_text(rng, 15_000)[:100_000],
        "copied five times": (prompt + " ") * 5,
        "repetitive": "the cat sat. " * 8000,
    }[case]
    if case == "repetitive":
        prompt = "the cat sat. " * 1600
    guard = _guard()
    item = GuardInput(answer, "output", system_prompt=prompt)
    best = min(_timed(guard, item) for _ in range(3))
    # Measured 15-45 ms on a quiet 2-core machine; quadratic work would take seconds.
    assert best < 0.25, best


def _timed(guard: SystemPromptLeakGuard, item: GuardInput) -> float:
    started = time.perf_counter()
    asyncio.run(guard.check(item))
    return time.perf_counter() - started
