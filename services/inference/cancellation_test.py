"""Stopping generations early: CancelGeneration, a caller that goes away, a deadline that passes.

Each case starts a long answer on the real Triton (SmolLM2 counting to a thousand) and
checks that the service closes its Triton stream at once, and that Triton stops the
generation (its request is marked cancelled; the local model asks before every token,
as TensorRT-LLM does), so the next request does not wait for an answer nobody reads.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from inference.main import create_server
from llmops.v1 import common_pb2
from llmops.v1 import inference_pb2 as pb
from llmops_core import Settings
from llmops_core.errors import DeadlineExceededError, InvalidArgumentError, NotFoundError
from llmops_core.testing import serving
from llmops_sdk import InferenceClient

COUNTING = "Count from 1 to 1000, separated by commas: 1, 2, 3, 4,"
LONG = 400  # tokens: 5-15 s of the local model if it were not stopped


def _long(request_id: str = "") -> pb.GenerateStreamRequest:
    sampling = common_pb2.SamplingParams(max_tokens=LONG, temperature=0.0)
    return pb.GenerateStreamRequest(prompt=COUNTING, sampling=sampling, request_id=request_id)


def _short() -> pb.GenerateRequest:
    sampling = common_pb2.SamplingParams(max_tokens=4, temperature=0.0)
    return pb.GenerateRequest(prompt="Hello", sampling=sampling)


@pytest.fixture
async def client(settings: Settings, triton_url: str):
    data = settings.model_dump()
    data["triton"]["endpoints"] = [triton_url]
    async with (
        serving(create_server(Settings.model_validate(data))) as address,
        InferenceClient(address) as client,
    ):
        yield client


async def _triton_calls_in_flight(client: InferenceClient) -> int:
    models = (await client.rpc.ListModels(pb.ListModelsRequest())).models
    return sum(s.in_flight for m in models for s in m.endpoint_status)


async def _wait_until_released(client: InferenceClient, within: float = 1.0) -> float:
    """Seconds until the service holds no call to Triton; fails after ``within``."""
    started = time.monotonic()
    while await _triton_calls_in_flight(client):
        assert time.monotonic() - started < within, "the Triton call is still open"
        await asyncio.sleep(0.01)
    return time.monotonic() - started


async def test_cancel_generation_ends_a_stream_with_usage_so_far(client):
    stream = client.rpc.GenerateStream(_long("story-1"))
    deltas = []
    async for message in stream:
        deltas.append(message)
        if len(deltas) == 3:
            cancelled_at = time.monotonic()
            await client.rpc.CancelGeneration(pb.CancelGenerationRequest(request_id="story-1"))
    last = deltas[-1]
    assert time.monotonic() - cancelled_at < 1.0
    assert last.finish_reason == pb.FINISH_REASON_CANCELLED
    assert last.usage.input_tokens > 0
    assert 3 <= last.usage.output_tokens < LONG
    assert last.time_to_first_token_ms > 0
    assert "".join(m.delta for m in deltas).startswith(" 5,")
    await _wait_until_released(client)
    # It is over: cancelling it again finds nothing.
    with pytest.raises(NotFoundError, match="no generation with request_id 'story-1' is running"):
        await client.rpc.CancelGeneration(pb.CancelGenerationRequest(request_id="story-1"))


async def test_cancel_generation_returns_the_partial_answer_of_generate(client):
    request = _long("story-2")
    call = asyncio.create_task(
        client.rpc.Generate(
            pb.GenerateRequest(
                prompt=request.prompt, sampling=request.sampling, request_id="story-2"
            )
        )
    )
    while True:  # the service knows the request once it has started it
        try:
            await client.rpc.CancelGeneration(pb.CancelGenerationRequest(request_id="story-2"))
            break
        except NotFoundError:
            await asyncio.sleep(0.05)
    reply = await asyncio.wait_for(call, 1.0)
    assert reply.finish_reason == pb.FINISH_REASON_CANCELLED
    assert reply.usage.output_tokens < LONG
    assert reply.duration_ms > 0
    await _wait_until_released(client)


async def test_cancel_generation_needs_a_request_id(client):
    with pytest.raises(InvalidArgumentError, match="request_id is empty"):
        await client.rpc.CancelGeneration(pb.CancelGenerationRequest())
    with pytest.raises(NotFoundError) as caught:
        await client.rpc.CancelGeneration(pb.CancelGenerationRequest(request_id="never-sent"))
    assert caught.value.reason == "GENERATION_NOT_FOUND"


async def test_a_caller_going_away_closes_the_triton_stream(client):
    stream = client.rpc.GenerateStream(_long())
    async for message in stream:
        if message.delta:
            break
    await stream.aclose()  # the SDK cancels the call
    released = await _wait_until_released(client)
    started = time.monotonic()
    reply = await client.rpc.Generate(_short())
    waited = time.monotonic() - started
    assert reply.usage.output_tokens == 4
    # The service let go of Triton at once and Triton stopped the abandoned generation:
    # the next request does not wait for its 400 tokens.
    print(
        f"Triton stream closed {released * 1000:.0f} ms after the caller left; "
        f"next request (4 tokens) answered {waited:.2f} s later"
    )
    assert released < 0.5
    assert waited < 2.0


@pytest.mark.parametrize("streaming", [False, True])
async def test_a_short_deadline_is_deadline_exceeded_quickly(client, streaming):
    request = _long()
    started = time.monotonic()
    with pytest.raises(DeadlineExceededError):
        if streaming:
            [m async for m in client.rpc.GenerateStream(request, timeout=0.5)]
        else:
            unary = pb.GenerateRequest(prompt=request.prompt, sampling=request.sampling)
            await client.rpc.Generate(unary, timeout=0.5)
    assert time.monotonic() - started < 1.0
    await _wait_until_released(client)
