"""The size and token limits: counts, spans from the first unit past the limit, config checks.

guard-models/eval_token_estimate.py compares the token estimate with the MiniLM tokenizer on 522
texts (this repository's Markdown and library sources in 2,000-character chunks,
presidio-evaluator's sentence templates, sentences in 8 languages): relative error median -1.6 %,
5th percentile -9.8 %, 95th percentile +13.3 %, in under a third of the tokenizer's time. The
cases below are exact counts of that tokenizer.
"""

from __future__ import annotations

import time

import pytest
from pydantic import ValidationError

from llmops_core import GuardInput, PluginContext, Settings
from llmops_guards.size_limit import (
    SizeLimitConfig,
    SizeLimitGuard,
    TokenLimitConfig,
    TokenLimitGuard,
    estimate_tokens,
)


@pytest.mark.parametrize(
    ("text", "minilm_tokens"),
    [
        ("Tell me about Redis streams.", 7),
        ("What are the previous versions of Python?", 8),
        ("今天天气很好，我们去公园散步吧。", 16),
        ("Привет, как дела?", 15),
    ],
)
def test_estimate_is_close_to_the_tokenizer(text, minilm_tokens):
    assert abs(estimate_tokens(text) - minilm_tokens) <= max(2, 0.25 * minilm_tokens)


def test_estimate_counts_pieces():
    assert estimate_tokens("") == 0
    assert estimate_tokens("a b c") == 3
    assert estimate_tokens("internationalization") == 1 + (20 - 5) // 3
    assert estimate_tokens("12345678") == 4
    assert estimate_tokens("café") == estimate_tokens("cafe")
    assert estimate_tokens("x = f(y);") == 7


async def test_token_limit_blocks_past_the_limit_with_the_overflow_span():
    guard = TokenLimitGuard(TokenLimitConfig(max_tokens=3), PluginContext(Settings()))
    assert await guard.check(GuardInput(text="one two three", stage="input")) == []
    [finding] = await guard.check(GuardInput(text="one two three four five", stage="input"))
    assert (finding.category, finding.score, finding.spans) == ("size.tokens", 1.0, ((14, 23),))
    assert finding.message == "5 tokens (estimated); the limit is 3"


async def test_size_limit_counts_characters():
    guard = SizeLimitGuard(SizeLimitConfig(max_chars=5), PluginContext(Settings()))
    assert await guard.check(GuardInput(text="12345", stage="input")) == []
    [finding] = await guard.check(GuardInput(text="1234567", stage="input"))
    assert (finding.category, finding.spans) == ("size", ((5, 7),))


def test_configs_and_metadata():
    assert (TokenLimitConfig().max_tokens, TokenLimitConfig().action) == (1024, "block")
    with pytest.raises(ValidationError):
        TokenLimitConfig(max_tokens=0)
    assert TokenLimitGuard.categories == ("size.tokens",)
    assert TokenLimitGuard.name == "token-limit"
    assert SizeLimitGuard.categories == ("size",)


async def test_token_limit_stops_counting_at_the_limit():
    guard = TokenLimitGuard(TokenLimitConfig(max_tokens=10), PluginContext(Settings()))
    text = "word " * 100_000
    started = time.perf_counter()
    [finding] = await guard.check(GuardInput(text=text, stage="input"))
    assert finding.spans == ((50, len(text)),)
    assert time.perf_counter() - started < 0.5
