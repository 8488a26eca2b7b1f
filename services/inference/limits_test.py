"""Load shedding: beyond inference.max_concurrent_generations a call is refused at once."""

from __future__ import annotations

import asyncio
import time

import pytest

from inference.main import create_server
from llmops.v1 import common_pb2
from llmops.v1 import inference_pb2 as pb
from llmops_core import Settings
from llmops_core.errors import ResourceExhaustedError
from llmops_core.testing import serving
from llmops_sdk import InferenceClient

COUNTING = "Count from 1 to 1000, separated by commas: 1, 2, 3, 4,"


@pytest.fixture
async def client(settings: Settings, triton_url: str):
    data = settings.model_dump()
    data["triton"]["endpoints"] = [triton_url]
    data["inference"]["max_concurrent_generations"] = 1
    async with (
        serving(create_server(Settings.model_validate(data))) as address,
        InferenceClient(address) as client,
    ):
        yield client


def _request(max_tokens: int) -> pb.GenerateRequest:
    sampling = common_pb2.SamplingParams(max_tokens=max_tokens, temperature=0.0)
    return pb.GenerateRequest(prompt=COUNTING, sampling=sampling)


async def test_a_generation_beyond_the_limit_is_resource_exhausted_and_the_running_one_goes_on(
    client,
):
    long = pb.GenerateStreamRequest(prompt=COUNTING, sampling=_request(400).sampling)
    stream = client.rpc.GenerateStream(long)
    first = await anext(stream)  # one generation is running now
    assert first.delta
    started = time.monotonic()
    with pytest.raises(ResourceExhaustedError) as caught:
        await client.rpc.Generate(_request(4))
    assert time.monotonic() - started < 0.5  # refused at once, not queued
    assert caught.value.reason == "TOO_MANY_GENERATIONS"
    assert "inference.max_concurrent_generations = 1" in caught.value.message
    # The running generation is untouched.
    more = [await anext(stream) for _ in range(3)]
    assert all(m.delta for m in more)
    await stream.aclose()
    # Its slot is free again once the service has seen the caller leave (milliseconds).
    deadline = time.monotonic() + 1.0
    while True:
        try:
            reply = await client.rpc.Generate(_request(4))
            break
        except ResourceExhaustedError:
            assert time.monotonic() < deadline, "the ended generation still holds its slot"
            await asyncio.sleep(0.01)
    assert reply.usage.output_tokens == 4
