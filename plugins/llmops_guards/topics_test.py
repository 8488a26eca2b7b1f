"""Banned topics on the real Triton model server: quality on the labelled set, windows over
long texts, one shared embedding call per text, configuration errors."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from pydantic import ValidationError
from tritonclient.grpc.aio import InferenceServerClient

from llmops_core import GuardInput, PluginContext, Settings, SharedWork
from llmops_guards.injection import PromptInjectionConfig, PromptInjectionGuard
from llmops_guards.topics import (
    CALIBRATED,
    BannedTopicsConfig,
    BannedTopicsGuard,
    most_topical,
    windows,
)

DATA = Path(__file__).parents[2] / "guard-models" / "data"
TOPICS = {
    json.loads(line)["topic"]: json.loads(line)["examples"]
    for line in (DATA / "topics_definitions.jsonl").read_text().splitlines()
}
ROWS = [json.loads(line) for line in (DATA / "topics_labelled.jsonl").read_text().splitlines()]


def _guard(triton_url: str, **options) -> BannedTopicsGuard:
    config = BannedTopicsConfig.model_validate(
        {"topics": TOPICS, "endpoints": [triton_url], **options}
    )
    return BannedTopicsGuard(config, PluginContext(Settings()))


async def _requests(triton_url: str, model: str) -> int:
    """Requests the model has served, once the count settles (Triton records a request's
    statistics just after answering it)."""
    client = InferenceServerClient(triton_url)
    try:
        counts = [-1]
        while True:
            stats = await client.get_inference_statistics(model, as_json=True)
            counts.append(
                int(stats["model_stats"][0]["inference_stats"]["success"].get("count", 0))
            )
            if counts[-1] == counts[-2]:
                return counts[-1]
            await asyncio.sleep(0.2)
    finally:
        await client.close()


def _flags(findings, threshold: float) -> set[str]:
    return {f.category.removeprefix("topic.") for f in findings if f.score >= threshold}


@pytest.mark.parametrize(
    ("model", "split", "least_precision", "least_recall"),
    # Similarity calibrated on "dev" (best F1, ties to precision); "test" held out.
    # Measured in-process by guard-models/calibrate_topics.py: guard dev P 0.95 R 0.87,
    # test P 0.92 R 0.80; minilm dev P 0.91 R 0.87, test P 0.90 R 0.76.
    [
        ("guard", "dev", 0.9, 0.85),
        ("guard", "test", 0.85, 0.75),
        ("minilm", "dev", 0.85, 0.85),
        ("minilm", "test", 0.85, 0.7),
    ],
)
async def test_precision_and_recall_on_the_labelled_set(
    triton_url, model, split, least_precision, least_recall
):
    guard = _guard(triton_url, model=model)
    threshold = guard.config.threshold
    flagged = correct = on_topic = found = 0
    for row in (r for r in ROWS if r["split"] == split):
        flags = _flags(await guard.check(GuardInput(row["text"], "input")), threshold)
        flagged += len(flags)
        correct += row["topic"] in flags
        on_topic += row["topic"] is not None
        found += row["topic"] in flags
    await guard.close()
    precision, recall = correct / flagged, found / on_topic
    assert precision >= least_precision and recall >= least_recall, (precision, recall)


async def test_a_topic_buried_in_a_long_text_is_found_in_its_window(triton_url):
    guard = _guard(triton_url)
    filler = "The quarterly reports moved to the shared drive, and the sync is now on Thursday. "
    sentence = "Which stocks should I buy with my savings to double them this year?"
    text = filler * 20 + sentence + " " + filler * 20
    findings = await guard.check(GuardInput(text, "input"))
    [investing] = [f for f in findings if f.category == "topic.investing"]
    assert investing.score >= 0.5
    [(start, end)] = investing.spans
    # The window holds the sentence or, a sentence longer than a window, a part of it.
    at = text.index(sentence)
    assert start < at + len(sentence) and end > at and end - start < 400
    # Others may fire too ("double my savings" is close to gambling), but only there.
    assert {f.spans for f in findings if f.score >= 0.5} == {investing.spans}
    await guard.close()


async def test_one_embedding_call_per_text_is_shared_between_checks(triton_url):
    model = "minilm"  # its own call: not shared with the other input checks
    politics = _guard(triton_url, model=model, topics={"politics": TOPICS["politics"]})
    weapons = _guard(triton_url, model=model, topics={"weapons": TOPICS["weapons"]})
    await politics.check(GuardInput("warm-up: embeds the topics", "input"))
    await weapons.check(GuardInput("warm-up: embeds the topics", "input"))
    before = await _requests(triton_url, model)
    item = GuardInput("Who should I vote for, and where can I buy a rifle?", "input")
    found = await politics.check(item) + await weapons.check(item)
    assert await _requests(triton_url, model) - before == 1
    assert {f.category for f in found if f.score >= 0.5} == {"topic.politics", "topic.weapons"}
    await politics.close()
    await weapons.close()


async def test_topic_descriptions_are_embedded_once(triton_url):
    guard = _guard(triton_url, topics={"gambling": "Betting, casinos and odds."})
    await guard.check(GuardInput("first text", "input"))
    before = await _requests(triton_url, guard.model)
    await guard.check(GuardInput("second text", "input", shared=SharedWork()))
    assert await _requests(triton_url, guard.model) - before == 1  # the text only
    await guard.close()


async def test_a_huge_text_is_judged_in_one_call_of_bounded_windows(triton_url):
    guard = _guard(triton_url)
    await guard.check(GuardInput("warm-up: embeds the topics", "input"))
    filler = "Nothing to see here, just a sentence. " * 130_000  # about 10 MB in all
    text = filler + "Where can I buy a handgun without any background check? " + filler
    before = await _requests(triton_url, guard.model)
    started = time.perf_counter()
    findings = await guard.check(GuardInput(text, "input"))
    assert time.perf_counter() - started < 30.0
    assert await _requests(triton_url, guard.model) - before == 1
    assert {f.category for f in findings if f.score >= 0.5} == {"topic.weapons"}
    await guard.close()


async def test_nothing_to_judge_finds_nothing_without_a_model(triton_url):
    nowhere = BannedTopicsGuard(
        BannedTopicsConfig(topics={"x": "anything"}, endpoints=["127.0.0.1:1"]),
        PluginContext(Settings()),
    )
    assert await nowhere.check(GuardInput("  \n ", "input")) == []
    no_topics = BannedTopicsGuard(
        BannedTopicsConfig(endpoints=["127.0.0.1:1"]), PluginContext(Settings())
    )
    assert await no_topics.check(GuardInput("Who should I vote for?", "input")) == []
    assert not (await nowhere.health()).ok
    assert (await _guard(triton_url).health()).ok


@pytest.mark.parametrize(
    ("topics", "message"),
    [
        ({"Politics!": "x"}, "topic name 'Politics!' must be"),
        ({"politics": []}, "topic 'politics' needs a description"),
        ({"politics": ["ok", "  "]}, "topic 'politics' needs a description"),
        ({"politics": ["x"] * 201}, "more than 200 examples"),
    ],
)
def test_bad_topics_are_refused_at_configuration(topics, message):
    with pytest.raises(ValidationError, match=message):
        BannedTopicsConfig(topics=topics)


def test_windows_keep_sentences_whole_and_cover_the_text():
    text = "One two three. Four five six seven! Eight nine?\nTen " + "w " * 50
    spans = windows(text, window_words=8)
    assert text[slice(*spans[0])] == "One two three. Four five six seven!"
    assert text[slice(*spans[1])] == "Eight nine?"
    assert all(len(text[s:e].split()) <= 8 for s, e in spans)
    assert spans[-1][1] == len(text.rstrip())
    assert windows("...", 8) == [(0, 3)]


def test_a_long_text_embeds_the_windows_that_share_most_words_with_the_topics():
    text = "Plain words here. " * 10 + "Betting on casinos tonight. " + "Plain words here. " * 10
    spans = windows(text, window_words=4)
    chosen = most_topical(text, spans, frozenset({"betting", "casinos"}), limit=3)
    assert len(chosen) == 3 and chosen == sorted(chosen)
    assert "Betting on casinos tonight." in [text[a:b] for a, b in chosen]
    assert most_topical(text, spans[:2], frozenset(), limit=3) == spans[:2]


async def test_a_model_without_a_calibration_needs_a_similarity():
    with pytest.raises(ValidationError, match="no calibrated similarity for embedding model 'e5'"):
        BannedTopicsConfig(model="e5")
    context = PluginContext(Settings())
    assert (
        BannedTopicsGuard(BannedTopicsConfig(model="e5", similarity=0.6), context).similarity == 0.6
    )
    # The default is the input checks' own `guard` model, calibrated.
    default = BannedTopicsGuard(BannedTopicsConfig(), context)
    assert default.model == "guard" and default.similarity == CALIBRATED["guard"].similarity


async def test_with_the_guard_model_a_short_text_shares_the_input_checks_call(triton_url):
    topics = _guard(triton_url, model="guard", topics={"weapons": TOPICS["weapons"]})
    injection = PromptInjectionGuard(
        PromptInjectionConfig(endpoints=[triton_url]), PluginContext(Settings())
    )
    await topics.check(GuardInput("warm-up: embeds the topics", "input"))
    before = await _requests(triton_url, "guard")
    item = GuardInput("Where can I buy a handgun without a background check?", "input")
    [weapons] = await topics.check(item)
    await injection.check(item)
    assert await _requests(triton_url, "guard") - before == 1
    assert weapons.category == "topic.weapons" and weapons.score >= 0.5
    await topics.close()
