"""CheckOutputStream over a real socket: an answer streamed in deltas is released window by
window, only after each window passed; a block ends the stream before the bad text.

The client here does what the gateway does: it keeps every delta and shows text up to a
window's end only once that window's decision allowed it.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from guardrails.main import create_server
from llmops.v1 import common_pb2
from llmops.v1 import guardrails_pb2 as pb
from llmops_core import Settings
from llmops_core.errors import InvalidArgumentError, NotFoundError
from llmops_core.testing import serving
from llmops_sdk import GuardrailsClient

BANNED = "project nightingale"
ANSWER = (
    "Redis keeps data in memory. It writes an append-only file for durability. "
    "Streams hold ordered entries with ids. Consumer groups share the work of reading. "
    "Replicas copy the primary. Sentinel watches for failures and promotes a replica."
)


@pytest.fixture
async def client(settings: Settings, empty_redis):
    data = settings.model_dump()
    data["guardrails"]["output_guards"] = [{"plugin": "pii"}]
    async with (
        serving(create_server(Settings.model_validate(data))) as address,
        GuardrailsClient(address) as client,
    ):
        policy = pb.Policy(
            name="stream",
            output_checks=[
                pb.CheckConfig(check="banned-phrases", action=common_pb2.GUARD_ACTION_BLOCK),
                pb.CheckConfig(check="pii"),
                pb.CheckConfig(check="json-schema"),
            ],
            streaming=pb.StreamingOptions(window_chars=60, overlap_chars=25, sentence_aware=True),
        )
        policy.output_checks[0].options.update({"phrases": [BANNED]})
        policy.output_checks[2].options.update({"schema": {"type": "object"}})
        await client.rpc.CreatePolicyVersion(pb.CreatePolicyVersionRequest(policy=policy))
        yield client


def _deltas(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


async def _requests(deltas, *, config: pb.CheckOutputStreamConfig | None = None, pause: float = 0):
    yield pb.CheckOutputStreamRequest(
        config=config or pb.CheckOutputStreamConfig(policy="stream", context=["Redis docs."])
    )
    for delta in deltas:
        if pause:
            await asyncio.sleep(pause)
        yield pb.CheckOutputStreamRequest(delta=delta)


async def _relay(client, deltas, **options) -> tuple[str, list[pb.CheckOutputStreamResponse]]:
    """What a user would see: the text of every window released, in order."""
    answer = "".join(deltas)
    shown, replies = "", []
    async for reply in client.rpc.CheckOutputStream(_requests(deltas, **options)):
        replies.append(reply)
        if reply.final or not reply.decision.allowed:
            continue
        assert reply.window_end > len(shown), "a window releases new text"
        shown = answer[: reply.window_end]
    return shown, replies


async def test_a_clean_answer_is_released_in_windows_then_judged_whole(client):
    shown, replies = await _relay(client, _deltas(ANSWER, 7))
    windows, final = replies[:-1], replies[-1]
    assert shown == ANSWER
    assert len(windows) >= 3
    assert all(r.decision.allowed and not r.final for r in windows)
    assert (final.final, final.window_start, final.window_end) == (True, 0, len(ANSWER))
    # The whole-answer decision also runs the check that needs the complete text.
    assert "json-schema" in {v.check for v in final.decision.verdicts}
    assert "json-schema" not in {v.check for r in windows for v in r.decision.verdicts}
    # Hold-back is bounded by the window size: no window releases more than 60 characters.
    ends = [0] + [r.window_end for r in windows]
    assert max(b - a for a, b in zip(ends, ends[1:], strict=False)) <= 60
    # Windows are cut after a sentence end where one falls in their second half, else after
    # a space: never inside a word.
    assert all(ANSWER[r.window_end - 1] == " " for r in windows[:-1])
    assert any(ANSWER[r.window_end - 2] == "." for r in windows[:-1])
    # Every window after the first re-reads up to 25 characters of released text.
    assert all(
        r.window_start >= prev.window_end - 25
        for prev, r in zip(windows, windows[1:], strict=False)
    )


async def test_a_block_ends_the_stream_before_any_of_the_bad_window_is_shown(client):
    answer = ANSWER[:100] + f" The code name is {BANNED}. " + ANSWER[100:]
    shown, replies = await _relay(client, _deltas(answer, 5))
    last = replies[-1]
    assert (last.decision.allowed, last.decision.action, last.final) == (
        False,
        common_pb2.GUARD_ACTION_BLOCK,
        False,
    )
    assert BANNED not in shown
    assert "nightingale" not in shown
    [finding] = [f for v in last.decision.verdicts for f in v.findings]
    [span] = finding.spans
    assert answer[span.start : span.end].lower() == BANNED  # offsets in the whole answer
    assert len(shown) <= answer.index(BANNED)


async def test_a_phrase_cut_across_deltas_and_windows_is_still_found(client):
    # The phrase straddles the first cut: the overlap puts it whole into the next window.
    prefix = "Plain words without any stop at all in them go on and on "
    answer = prefix + BANNED + " and then the answer continues for a while longer."
    shown, replies = await _relay(client, [answer[:50], answer[50:64], answer[64:]])
    assert not replies[-1].decision.allowed
    assert BANNED not in shown


async def test_personal_data_is_redacted_in_the_window_that_releases_it(client):
    answer = "Contact the on-call engineer at oncall@example.com for access. " + ANSWER
    replies = [r async for r in client.rpc.CheckOutputStream(_requests(_deltas(answer, 9)))]
    first = replies[0]
    assert first.decision.action == common_pb2.GUARD_ACTION_REDACT
    assert "[EMAIL]" in first.decision.redacted_text
    assert "oncall@example.com" not in first.decision.redacted_text
    [span] = [s for v in first.decision.verdicts for f in v.findings for s in f.spans]
    assert answer[span.start : span.end] == "oncall@example.com"


async def test_each_window_is_decided_as_soon_as_it_fills(client):
    started = time.perf_counter()
    arrivals = []
    async for reply in client.rpc.CheckOutputStream(_requests(_deltas(ANSWER, 20), pause=0.05)):
        arrivals.append((time.perf_counter() - started, reply))
    # Deltas arrive every 50 ms; a window's decision follows the delta that filled it, so the
    # decisions are spread over the stream instead of all arriving at the end.
    first_window = arrivals[0][0]
    total = 0.05 * len(_deltas(ANSWER, 20))
    assert first_window < total / 2, (first_window, total)
    assert all(r.decision.duration_ms < 100 for _, r in arrivals)


async def test_the_first_message_must_be_a_config_and_only_the_first(client):
    async def delta_first():
        yield pb.CheckOutputStreamRequest(delta="Hello")

    with pytest.raises(InvalidArgumentError, match="first message of CheckOutputStream"):
        [r async for r in client.rpc.CheckOutputStream(delta_first())]

    async def two_configs():
        yield pb.CheckOutputStreamRequest(config=pb.CheckOutputStreamConfig(policy="stream"))
        yield pb.CheckOutputStreamRequest(config=pb.CheckOutputStreamConfig(policy="stream"))

    with pytest.raises(InvalidArgumentError, match="a second config"):
        [r async for r in client.rpc.CheckOutputStream(two_configs())]


async def test_an_empty_stream_gets_no_decision_and_an_unknown_policy_is_not_found(client):
    assert [r async for r in client.rpc.CheckOutputStream(_requests([]))] == []
    with pytest.raises(NotFoundError, match="nope"):
        config = pb.CheckOutputStreamConfig(policy="nope")
        [r async for r in client.rpc.CheckOutputStream(_requests(["x"], config=config))]
