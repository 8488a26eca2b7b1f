"""The inference service over a real socket, generating with SmolLM2 and embedding with MiniLM on the real Triton."""

from __future__ import annotations

import math
import time

import pytest

from inference.main import create_server
from llmops.v1 import common_pb2
from llmops.v1 import inference_pb2 as pb
from llmops_core import Settings
from llmops_core.errors import (
    InvalidArgumentError,
    NotFoundError,
    ResourceExhaustedError,
    UnavailableError,
)
from llmops_core.testing import serving
from llmops_sdk import InferenceClient
from llmops_stack._process import free_port

QUESTION = [
    common_pb2.ChatMessage(role="system", content="You are a helpful assistant."),
    common_pb2.ChatMessage(role="user", content="Name three colours of the rainbow."),
]
COUNTING = "Count from one to ten in words: one, two, three,"
STORY = [
    common_pb2.ChatMessage(
        role="user", content="Write a long story about a dragon who learns to bake."
    )
]


def _sampling(max_tokens: int = 12, **fields) -> common_pb2.SamplingParams:
    return common_pb2.SamplingParams(max_tokens=max_tokens, temperature=0.0, **fields)


def _on(settings: Settings, *endpoints: str, **backend_config) -> Settings:
    data = settings.model_dump()
    data["triton"]["endpoints"] = list(endpoints)
    data["inference"]["backend"]["config"] = backend_config
    return Settings.model_validate(data)


@pytest.fixture
async def client(settings, triton_url):
    async with (
        serving(create_server(_on(settings, triton_url))) as address,
        InferenceClient(address) as client,
    ):
        yield client


async def test_generate_answers_chat_messages_with_usage(client, triton_url):
    reply = await client.rpc.Generate(pb.GenerateRequest(messages=QUESTION, sampling=_sampling(16)))
    assert reply.text.strip()
    assert reply.endpoint == triton_url
    assert "<|im_end|>" not in reply.text and "<|im_start|>" not in reply.text
    assert reply.model == "smollm2-135m"
    assert reply.usage.input_tokens > 10  # the chat template's tokens count too
    assert 0 < reply.usage.output_tokens <= 16
    assert reply.finish_reason in (pb.FINISH_REASON_STOP, pb.FINISH_REASON_LENGTH)
    assert 0 < reply.time_to_first_token_ms <= reply.duration_ms


async def test_max_tokens_is_honoured_and_reported_as_length(client):
    for request in (
        pb.GenerateRequest(messages=STORY, sampling=_sampling(5)),
        pb.GenerateRequest(prompt="Once upon a time, in a land far away,", sampling=_sampling(5)),
    ):
        reply = await client.rpc.Generate(request)
        assert reply.usage.output_tokens == 5, reply
        assert reply.finish_reason == pb.FINISH_REASON_LENGTH
        assert reply.text


async def test_generate_stream_yields_deltas_then_usage_on_the_last_message(client):
    request = pb.GenerateStreamRequest(messages=STORY, sampling=_sampling(12))
    messages = [m async for m in client.rpc.GenerateStream(request)]
    assert len(messages) > 1
    assert sum(bool(m.delta) for m in messages) > 1
    last = messages[-1]
    assert last.finish_reason == pb.FINISH_REASON_LENGTH
    assert (last.usage.input_tokens > 0, last.usage.output_tokens) == (True, 12)
    assert last.time_to_first_token_ms > 0
    assert all(m.finish_reason == pb.FINISH_REASON_UNSPECIFIED for m in messages[:-1])
    assert all(m.model == "smollm2-135m" and m.endpoint for m in messages)
    # Greedy decoding: the stream spells the same answer as a whole generation.
    whole = await client.rpc.Generate(pb.GenerateRequest(messages=STORY, sampling=_sampling(12)))
    assert "".join(m.delta for m in messages) == whole.text


async def test_a_stop_word_ends_the_answer(client):
    reply = await client.rpc.Generate(
        pb.GenerateRequest(
            prompt="Count from one to ten in words: one, two, three,",
            sampling=_sampling(16, stop=["six"]),
        )
    )
    assert "seven" not in reply.text
    assert reply.finish_reason == pb.FINISH_REASON_STOP


async def test_embed_returns_one_normalised_vector_per_text_in_order(client):
    texts = [
        "The cat sleeps on the sofa.",
        "A kitten naps on the couch.",
        "Quarterly tax filing deadlines.",
    ]
    reply = await client.rpc.Embed(pb.EmbedRequest(texts=texts))
    assert (reply.model, reply.dimension, len(reply.embeddings)) == ("minilm", 384, 3)
    vectors = [list(e.values) for e in reply.embeddings]
    assert all(len(v) == 384 for v in vectors)

    def cosine(a, b):
        return sum(x * y for x, y in zip(a, b, strict=True)) / math.sqrt(
            sum(x * x for x in a) * sum(y * y for y in b)
        )

    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2]) + 0.2
    alone = await client.rpc.Embed(pb.EmbedRequest(texts=[texts[2]], model="minilm"))
    assert cosine(list(alone.embeddings[0].values), vectors[2]) > 0.999
    # Usage counts the tokens the model read: each text's words plus [CLS] and [SEP].
    assert alone.usage.input_tokens >= len(texts[2].split()) + 2
    assert reply.usage.input_tokens >= sum(len(t.split()) + 2 for t in texts)
    assert reply.usage.input_tokens > alone.usage.input_tokens
    assert reply.usage.output_tokens == 0


async def test_list_models_shows_both_models_ready_with_endpoint_health(client, triton_url):
    before = time.time()
    models = (await client.rpc.ListModels(pb.ListModelsRequest())).models
    assert [m.name for m in models] == ["minilm", "smollm2-135m"]  # name order
    llm, embedder = models[1], models[0]
    assert (llm.kind, llm.triton_model, llm.max_context_tokens) == (
        pb.MODEL_KIND_LLM,
        "ensemble",
        2048,
    )
    assert (embedder.kind, embedder.triton_model, embedder.dimension) == (
        pb.MODEL_KIND_EMBEDDING,
        "minilm",
        384,
    )
    for model in models:
        assert model.ready and model.backend == "triton"
        assert list(model.endpoints) == [triton_url]
        [status] = model.endpoint_status
        assert (status.address, status.healthy, status.last_error, status.in_flight) == (
            triton_url,
            True,
            "",
            0,
        )
        assert status.check_time.ToMicroseconds() / 1e6 >= before - 1


async def test_sampling_parameters_reach_the_model(client):
    def ask(**fields):
        sampling = common_pb2.SamplingParams(max_tokens=12, **fields)
        return client.rpc.Generate(pb.GenerateRequest(prompt=COUNTING, sampling=sampling))

    greedy = await ask()
    assert greedy.text.startswith(" four, five")
    # Bad words are token sequences, as in TensorRT-LLM: " four" is the token that follows.
    banned = await ask(bad_words=[" four"])
    assert "four" not in banned.text and banned.text.strip()
    penalised = await ask(repetition_penalty=1.5, presence_penalty=1.0, frequency_penalty=1.0)
    assert penalised.text != greedy.text
    # Same seed, same answer. (llama.cpp rounds the logits of a prompt it has cached
    # differently from a cold one: every run here finds the prompt cached by the first.)
    sampled = {"temperature": 1.0, "top_p": 0.95, "top_k": 50, "seed": 7}
    first, second = await ask(**sampled), await ask(**sampled)
    assert first.text == second.text
    assert first.usage.output_tokens == second.usage.output_tokens > 0
    others = {(await ask(**{**sampled, "seed": seed})).text for seed in (8, 9, 10)}
    assert others - {first.text}, "other seeds should sample other answers"


async def test_beam_search_beyond_what_the_model_serves_is_invalid_argument(
    client, settings, triton_url
):
    request = pb.GenerateRequest(prompt="Hi", sampling=_sampling(4, beam_width=2))
    with pytest.raises(
        InvalidArgumentError,
        match="sampling.beam_width is 2; model 'smollm2-135m' is served with beam widths up to 1",
    ) as caught:
        await client.rpc.Generate(request)
    assert caught.value.reason == "BEAM_WIDTH_UNSUPPORTED"
    # Configured as if its engine had beams, the model's own refusal is INVALID_ARGUMENT too.
    async with (
        serving(create_server(_on(settings, triton_url, max_beam_width=4))) as address,
        InferenceClient(address) as wider,
    ):
        with pytest.raises(
            InvalidArgumentError,
            match="model 'smollm2-135m' refused the request: beam_width=2: only 1",
        ) as caught:
            await wider.rpc.Generate(request)
        assert caught.value.reason == "MODEL_REJECTED_REQUEST"


async def test_a_prompt_longer_than_the_context_is_invalid_argument(client):
    request = pb.GenerateRequest(prompt="word " * 2100, sampling=_sampling(4))
    with pytest.raises(
        InvalidArgumentError,
        match=r"refused the request: prompt has \d+ tokens; the context holds 2048",
    ):
        await client.rpc.Generate(request)


async def test_a_dead_endpoint_is_skipped_and_shown_unhealthy(settings, triton_url):
    dead = f"127.0.0.1:{free_port()}"
    async with (
        serving(create_server(_on(settings, dead, triton_url, cooldown_seconds=60))) as address,
        InferenceClient(address) as client,
    ):
        for _ in range(4):
            reply = await client.rpc.Generate(
                pb.GenerateRequest(prompt="Hi", sampling=_sampling(2))
            )
            assert reply.endpoint == triton_url and reply.usage.output_tokens == 2
        models = (await client.rpc.ListModels(pb.ListModelsRequest())).models
        for model in models:
            assert model.ready
            status = {s.address: s for s in model.endpoint_status}
            assert status[triton_url].healthy and not status[dead].healthy
            assert status[dead].last_error.startswith("UNAVAILABLE")


async def test_bad_generation_requests_are_invalid_argument(client):
    user = [common_pb2.ChatMessage(role="user", content="Hi")]
    cases = [
        (pb.GenerateRequest(prompt="Hi", messages=user), "send exactly one of prompt or messages"),
        (pb.GenerateRequest(), "send exactly one of prompt or messages"),
        (pb.GenerateRequest(prompt="   \n"), "prompt is empty"),
        (
            pb.GenerateRequest(messages=[common_pb2.ChatMessage(role="user", content=" ")]),
            r"messages\[0\]\.content is empty",
        ),
        (
            pb.GenerateRequest(
                messages=[*user, common_pb2.ChatMessage(role="robot", content="beep")]
            ),
            r"messages\[1\]\.role is 'robot'; use one of system, user, assistant",
        ),
        (
            pb.GenerateRequest(prompt="Hi", sampling=_sampling(-1)),
            "sampling.max_tokens is -1; it must be between 1 and 2048",
        ),
        (pb.GenerateRequest(prompt="Hi", sampling=_sampling(2049)), "sampling.max_tokens is 2049"),
        (
            pb.GenerateRequest(
                prompt="Hi", sampling=common_pb2.SamplingParams(max_tokens=4, temperature=3)
            ),
            "sampling.temperature is 3.0; it must be between 0.0 and 2.0",
        ),
        (
            pb.GenerateRequest(prompt="Hi", sampling=_sampling(4, top_p=1.5)),
            "sampling.top_p is 1.5",
        ),
        (
            pb.GenerateRequest(prompt="Hi", sampling=_sampling(4, beam_width=9)),
            "sampling.beam_width is 9",
        ),
        (
            pb.GenerateRequest(
                prompt="Hi", sampling=_sampling(4, stop=[f"s{i}" for i in range(17)])
            ),
            "sampling.stop has 17 entries; the limit is 16",
        ),
        (
            pb.GenerateRequest(prompt="Hi", sampling=_sampling(4, stop=["x" * 65])),
            r"sampling.stop\[0\] has 65 characters; entries must hold 1 to 64 characters",
        ),
        (
            pb.GenerateRequest(prompt="Hi", sampling=_sampling(4, stop=[""])),
            r"sampling.stop\[0\] has 0 characters",
        ),
        (
            pb.GenerateRequest(prompt="Hi", sampling=_sampling(4, bad_words=["b"] * 17)),
            "sampling.bad_words has 17",
        ),
        (
            pb.GenerateRequest(prompt="x" * 32_001),
            "the prompt has 32001 characters; the limit is 32000",
        ),
    ]
    for request, message in cases:
        with pytest.raises(InvalidArgumentError, match=message):
            await client.rpc.Generate(request)
        stream = pb.GenerateStreamRequest(
            prompt=request.prompt, messages=request.messages, sampling=request.sampling
        )
        with pytest.raises(InvalidArgumentError, match=message):
            [m async for m in client.rpc.GenerateStream(stream)]


async def test_zero_max_tokens_means_the_default(client):
    reply = await client.rpc.Generate(
        pb.GenerateRequest(
            prompt="Reply with one word: yes or no?",
            sampling=common_pb2.SamplingParams(stop=["\n", "."]),
        )
    )
    assert reply.finish_reason == pb.FINISH_REASON_STOP
    assert 0 < reply.usage.output_tokens < 256


async def test_the_stop_word_limit_counts_only_the_callers_words(client):
    request = pb.GenerateRequest(
        messages=[common_pb2.ChatMessage(role="user", content="Hi")],
        sampling=_sampling(4, stop=[f"s{i}" for i in range(16)]),
    )
    assert (await client.rpc.Generate(request)).text is not None


async def test_an_unknown_model_is_not_found(client):
    for call in (
        client.rpc.Generate(pb.GenerateRequest(model="gpt-17", prompt="Hi", sampling=_sampling(4))),
        client.rpc.Embed(pb.EmbedRequest(model="no-such-embedder", texts=["Hi"])),
    ):
        with pytest.raises(NotFoundError, match="is not served; available: ") as caught:
            await call
        assert caught.value.reason == "MODEL_NOT_FOUND"
    with pytest.raises(
        NotFoundError, match="model 'gpt-17' is not served; available: smollm2-135m"
    ):
        [
            m
            async for m in client.rpc.GenerateStream(
                pb.GenerateStreamRequest(model="gpt-17", prompt="Hi")
            )
        ]


async def test_bad_embedding_requests_are_invalid_argument(client):
    cases = [
        ([], "texts is empty"),
        (["fine", "  "], r"texts\[1\] must hold 1 to 8000 characters"),
        (["y" * 8001], r"texts\[0\] must hold 1 to 8000"),
        (["t"] * 257, "257 texts; the limit is 256"),
    ]
    for texts, message in cases:
        with pytest.raises((InvalidArgumentError, ResourceExhaustedError), match=message):
            await client.rpc.Embed(pb.EmbedRequest(texts=texts))


async def test_too_many_texts_to_embed_is_resource_exhausted(client):
    with pytest.raises(ResourceExhaustedError):
        await client.rpc.Embed(pb.EmbedRequest(texts=["t"] * 257))


async def test_triton_down_is_unavailable_and_models_are_not_ready(settings):
    endpoint = f"127.0.0.1:{free_port()}"  # nobody listens there
    async with (
        serving(create_server(_on(settings, endpoint))) as address,
        InferenceClient(address) as client,
    ):
        started = time.monotonic()
        calls = [
            client.rpc.Generate(pb.GenerateRequest(prompt="Hi", sampling=_sampling(4))),
            client.rpc.Embed(pb.EmbedRequest(texts=["Hi"])),
        ]
        for call in calls:
            with pytest.raises(
                UnavailableError, match=f"no Triton endpoint answered \\({endpoint}: "
            ) as caught:
                await call
            assert caught.value.reason == "TRITON_UNAVAILABLE"
        with pytest.raises(UnavailableError, match="no Triton endpoint answered"):
            [m async for m in client.rpc.GenerateStream(pb.GenerateStreamRequest(prompt="Hi"))]
        models = (await client.rpc.ListModels(pb.ListModelsRequest())).models
        assert len(models) == 2 and not any(m.ready for m in models)
        assert time.monotonic() - started < 10
