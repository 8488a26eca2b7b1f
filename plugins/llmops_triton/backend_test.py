"""The Triton backend on real model servers: balancing, failover, errors of the model.

The session's model server (``triton_url``) stays up; a second one, started here on
free ports, is killed with SIGKILL in the middle of an answer and started again.
A dead endpoint is a free port nobody listens on.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from llmops_core import GenerationRequest, PluginContext, Sampling, Settings
from llmops_core.errors import InvalidArgumentError, UnavailableError
from llmops_stack._process import free_port
from llmops_stack.model_server import (
    TritonPorts,
    models_installed,
    models_ready,
    start_model_server,
)
from llmops_triton.backend import TritonBackend, TritonBackendConfig

MODEL = "smollm2-135m"
# The spare server also hosts the paced model, which the session's server does not.
SPARE_ARGS = ("--paced-model", "paced")
COUNTING = "Count from 1 to 1000, separated by commas: 1, 2, 3, 4,"


def _backend(*endpoints: str, **config) -> TritonBackend:
    return TritonBackend(
        TritonBackendConfig(endpoints=list(endpoints), **config), PluginContext(Settings())
    )


def _request(max_tokens: int = 4, prompt: str = "Hello") -> GenerationRequest:
    return GenerationRequest(MODEL, prompt, Sampling(max_tokens=max_tokens, temperature=0.0))


async def _answer(backend: TritonBackend, request: GenerationRequest | None = None):
    chunks = [c async for c in backend.generate_stream(request or _request())]
    assert chunks[-1].finish_reason, "an answer ends with its finish reason"
    return chunks[-1]


def _health(backend: TritonBackend, address: str):
    return next(h for h in backend.endpoints.health() if h.address == address)


@pytest.fixture(scope="module")
def spare(tmp_path_factory):
    """A second model server of our own, which the tests may kill and restart."""
    if not models_installed():
        pytest.skip("the local model server is not installed: run deploy/local/setup-models.sh")
    folder = tmp_path_factory.mktemp("spare-triton")
    ports = TritonPorts(free_port(), free_port(), free_port())
    server = {"ports": ports, "log": folder / "triton.log"}
    server["process"] = asyncio.run(
        start_model_server(ports, log_path=server["log"], extra_args=SPARE_ARGS)
    )
    yield server
    server["process"].stop()


async def test_a_dead_endpoint_costs_one_try_then_the_live_one_serves_everything(triton_url):
    dead = f"127.0.0.1:{free_port()}"
    backend = _backend(dead, triton_url, cooldown_seconds=60)
    try:
        finals = [await _answer(backend) for _ in range(6)]
        embeddings = await backend.embed("minilm", ["one", "two"])
    finally:
        await backend.close()
    assert {f.endpoint for f in finals} == {triton_url}
    assert all(f.output_tokens == 4 for f in finals)
    assert len(embeddings.vectors) == 2 and embeddings.input_tokens >= 6  # [CLS] w [SEP] x2
    dead_health, live = _health(backend, dead), _health(backend, triton_url)
    # Tried once, then skipped for its cool-down (no probe before it ends).
    assert (dead_health.healthy, dead_health.failures, dead_health.calls) == (False, 1, 0)
    assert dead_health.last_error.startswith("UNAVAILABLE")
    assert (live.healthy, live.calls, live.in_flight) == (True, 7, 0)


async def test_all_endpoints_down_is_unavailable_naming_each_one():
    dead = [f"127.0.0.1:{free_port()}" for _ in range(2)]
    backend = _backend(*dead, retry_backoff_seconds=0.05)
    started = time.monotonic()
    try:
        with pytest.raises(UnavailableError) as caught:
            await _answer(backend)
    finally:
        await backend.close()
    assert time.monotonic() - started < 2
    assert caught.value.reason == "TRITON_UNAVAILABLE"
    for address in dead:
        assert f"{address}: UNAVAILABLE: " in caught.value.message
    # Two rounds (the first and one retry after a backoff), each trying both endpoints.
    assert [_health(backend, a).failures for a in dead] == [2, 2]


async def test_the_models_refusal_is_invalid_argument_and_not_retried(triton_url):
    backend = _backend(triton_url, max_beam_width=4)
    request = GenerationRequest(MODEL, "Hi", Sampling(max_tokens=4, beam_width=2))
    try:
        with pytest.raises(InvalidArgumentError, match="beam_width=2: only 1"):
            await _answer(backend, request)
    finally:
        await backend.close()
    assert _health(backend, triton_url).calls == 1


async def test_a_model_missing_from_triton_is_unavailable_naming_it(triton_url):
    backend = _backend(triton_url, llm_models={"ghost": "no-such-model"})
    request = GenerationRequest("ghost", "Hi", Sampling(max_tokens=4))
    try:
        with pytest.raises(
            UnavailableError, match="model 'ghost' is not loaded on Triton at"
        ) as caught:
            await _answer(backend, request)
    finally:
        await backend.close()
    assert caught.value.reason == "MODEL_NOT_LOADED"
    assert "no-such-model" in caught.value.message


async def test_a_model_loaded_on_one_endpoint_only_is_served_there(triton_url, spare):
    has_it = spare["ports"].grpc_url
    if await models_ready(triton_url, ("paced",)):
        pytest.skip(f"{triton_url} hosts the paced model too; this needs one that does not")
    backend = _backend(triton_url, has_it, llm_models={"paced": "paced"})
    request = GenerationRequest("paced", "Hi", Sampling(max_tokens=3))
    try:
        # Balancing sends some of these to the endpoint without the model first.
        finals = [await _answer(backend, request) for _ in range(4)]
    finally:
        await backend.close()
    assert {f.endpoint for f in finals} == {has_it}
    assert all(f.output_tokens == 3 for f in finals)
    lacking = _health(backend, triton_url)
    assert lacking.calls >= 1  # it was asked, and said "unknown model"
    assert lacking.healthy  # the server itself is fine: not put in cool-down


async def test_a_flavour_without_an_input_refuses_the_field_before_calling_triton():
    backend = _backend(f"127.0.0.1:{free_port()}", flavour="llmapi")
    request = GenerationRequest(MODEL, "Hi", Sampling(max_tokens=4, bad_words=("x",)))
    try:
        with pytest.raises(InvalidArgumentError, match="does not take sampling.bad_words"):
            await _answer(backend, request)
    finally:
        await backend.close()


async def test_a_triton_killed_mid_answer_is_unavailable_then_calls_fail_over_and_it_returns(
    triton_url, spare
):
    victim = spare["ports"].grpc_url
    backend = _backend(victim, triton_url, cooldown_seconds=0.5, max_cooldown_seconds=1)
    received = []
    try:
        # 1. The answer breaks: the caller learns it at once, and gets no partial success.
        with pytest.raises(UnavailableError) as caught:
            async with asyncio.timeout(20):  # a hang fails here, not as a pass
                async for chunk in backend.generate_stream(_request(200, COUNTING)):
                    received.append(chunk)
                    if len(received) == 3:
                        assert chunk.endpoint == victim  # the first call goes to the first one
                        os.killpg(spare["process"].pid, signal.SIGKILL)
                        killed = time.monotonic()
        assert time.monotonic() - killed < 5
        assert caught.value.reason == "TRITON_STREAM_BROKEN"
        assert f"Triton at {victim} failed mid-answer" in caught.value.message
        assert "not replayed" in caught.value.message
        assert not any(c.finish_reason for c in received)

        # 2. Calls fail over to the endpoint that is left, none fails.
        finals = [await _answer(backend) for _ in range(4)]
        assert {f.endpoint for f in finals} == {triton_url}
        assert not _health(backend, victim).healthy

        # 3. Back on the same ports, it passes a ServerReady probe and serves again.
        spare["process"] = await start_model_server(
            spare["ports"], log_path=spare["log"], extra_args=SPARE_ARGS
        )
        served_by = set()
        deadline = time.monotonic() + 10
        while victim not in served_by and time.monotonic() < deadline:
            served_by.add((await _answer(backend)).endpoint)
            await asyncio.sleep(0.2)
        assert served_by == {victim, triton_url}
        assert _health(backend, victim).healthy
    finally:
        await backend.close()


async def test_concurrent_calls_spread_over_healthy_endpoints(triton_url, spare):
    backend = _backend(spare["ports"].grpc_url, triton_url)
    try:
        finals = await asyncio.gather(*(_answer(backend, _request(8)) for _ in range(6)))
    finally:
        await backend.close()
    served = [f.endpoint for f in finals]
    assert served.count(triton_url) == served.count(spare["ports"].grpc_url) == 3
