"""End-to-end checks of the local model server: a real tritonserver with the real models.

The server runs in its own interpreter (.venv-models, made by deploy/local/setup-models.sh)
and is driven here over gRPC with tritonclient, as the platform's Triton client does.
The tests are skipped, with the reason printed, when that virtualenv is missing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import dataclasses
import itertools
import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException, np_to_triton_dtype

CHATML = "<|im_start|>user\n{}<|im_end|>\n<|im_start|>assistant\n"
PROMPT = CHATML.format("What is MLOps?")
STOP = ("<|im_end|>",)
STARTUP_TIMEOUT_S = 240.0


def _repo_root() -> Path | None:
    if home := os.environ.get("LLMOPS_HOME"):
        return Path(home)
    for parent in Path(__file__).resolve().parents:
        if (parent / "pants.toml").exists() or (parent / ".git").exists():
            return parent
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclasses.dataclass
class Server:
    process: subprocess.Popen[str]
    grpc_url: str
    http_port: int
    startup_s: float
    log_path: Path

    def client(self) -> grpcclient.InferenceServerClient:
        return grpcclient.InferenceServerClient(self.grpc_url)

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


def _skip(reason: str) -> None:
    print(f"SKIPPED model server tests: {reason}", file=sys.stderr)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    root = _repo_root()
    if root is None:
        _skip("repository root not found: set LLMOPS_HOME")
    python = root / ".venv-models" / "bin" / "python"
    serve_py = root / "deploy" / "local" / "model_server" / "serve.py"
    if not python.exists():
        _skip(f"{python} is missing: run deploy/local/setup-models.sh")
    grpc_port, http_port, metrics_port = _free_port(), _free_port(), _free_port()
    log = Path(tempfile.mkstemp(prefix="model-server-", suffix=".log")[1])
    started = time.monotonic()
    with log.open("w") as log_file:
        process = subprocess.Popen(
            [
                str(python),
                str(serve_py),
                "--address",
                "127.0.0.1",
                "--grpc-port",
                str(grpc_port),
                "--http-port",
                str(http_port),
                "--metrics-port",
                str(metrics_port),
                "--log-level",
                "WARNING",
                "--paced-model",
                "paced",
            ],
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
            start_new_session=True,  # so a failed stop can take tritonserver down too
            preexec_fn=_stop_with_parent,
        )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(
        target=lambda: [lines.put(line) for line in process.stdout], daemon=True
    ).start()
    srv = Server(process, f"127.0.0.1:{grpc_port}", http_port, 0.0, log)
    try:
        line = lines.get(timeout=STARTUP_TIMEOUT_S)
    except queue.Empty:
        line = ""
    if line.strip() != f"READY grpc={grpc_port} http={http_port}":
        _stop(process)
        pytest.fail(f"server did not become ready (got {line!r}):\n{srv.log_tail()}")
    srv.startup_s = time.monotonic() - started
    print(f"\nmodel server ready in {srv.startup_s:.1f}s")
    yield srv
    _stop(process)
    log.unlink(missing_ok=True)


def _stop_with_parent() -> None:
    # A test runner that kills this process (Pants on a timeout or retry) skips fixture
    # teardown; the kernel then sends the server SIGTERM instead of leaving it running.
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _stop(process: subprocess.Popen[str]) -> int | None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return None
    return process.returncode


def _input(name: str, value: np.ndarray) -> grpcclient.InferInput:
    tensor = grpcclient.InferInput(name, list(value.shape), np_to_triton_dtype(value.dtype))
    tensor.set_data_from_numpy(value)
    return tensor


@dataclasses.dataclass
class Generation:
    texts: list[str]
    times: list[float]  # monotonic arrival time of each response that carried text
    started: float
    num_input_tokens: int | None
    num_output_tokens: int | None
    finals: int

    @property
    def text(self) -> str:
        return "".join(self.texts)


def generate(
    srv: Server,
    prompt: str,
    *,
    max_tokens: int,
    stream: bool = True,
    stop_words: tuple[str, ...] = STOP,
    model: str = "ensemble",
    **extra: np.ndarray,
) -> Generation:
    """One request over the gRPC stream API, as used for TensorRT-LLM's decoupled ensemble."""
    inputs = _generation_inputs(prompt, max_tokens, stream, stop_words, extra)
    replies: queue.Queue[tuple[object, object]] = queue.Queue()
    client = srv.client()
    client.start_stream(callback=lambda result, error: replies.put((result, error)))
    result = Generation([], [], time.monotonic(), None, None, 0)
    try:
        client.async_stream_infer(model, inputs, enable_empty_final_response=True)
        while True:
            reply, error = replies.get(timeout=120)
            if error is not None:
                raise error  # type: ignore[misc]
            text = reply.as_numpy("text_output")
            if text is not None:
                result.texts.append(text.reshape(-1)[0].decode())
                result.times.append(time.monotonic())
                result.num_input_tokens = int(reply.as_numpy("num_input_tokens").item())
                result.num_output_tokens = int(reply.as_numpy("num_output_tokens").item())
            if reply.get_response().parameters["triton_final_response"].bool_param:
                result.finals += 1
                return result
    finally:
        client.stop_stream()
        client.close()


def _generation_inputs(
    prompt: str,
    max_tokens: int,
    stream: bool,
    stop_words: tuple[str, ...],
    extra: dict[str, np.ndarray],
) -> list[grpcclient.InferInput]:
    inputs = [
        _input("text_input", np.array([[prompt.encode()]], dtype=np.object_)),
        _input("max_tokens", np.array([[max_tokens]], dtype=np.int32)),
        _input("stream", np.array([[stream]], dtype=np.bool_)),
        _input("return_num_input_tokens", np.array([[True]], dtype=np.bool_)),
        _input("return_num_output_tokens", np.array([[True]], dtype=np.bool_)),
    ]
    if stop_words:
        inputs.append(
            _input("stop_words", np.array([[w.encode() for w in stop_words]], dtype=np.object_))
        )
    return inputs + [_input(name, value) for name, value in extra.items()]


def _inference_count(srv: Server, model: str) -> int:
    stats = srv.client().get_inference_statistics(model)
    return stats.model_stats[0].inference_count


def test_server_and_models_are_ready(server: Server) -> None:
    client = server.client()
    assert client.is_server_ready()
    assert client.is_model_ready("ensemble")
    assert client.is_model_ready("minilm")
    assert client.is_model_ready("guard")
    assert client.is_model_ready("groundedness")


def test_ensemble_speaks_tensorrt_llm_tensor_names(server: Server) -> None:
    config = server.client().get_model_config("ensemble").config
    inputs = {i.name: (i.data_type, list(i.dims), i.optional) for i in config.input}
    outputs = {o.name: (o.data_type, list(o.dims)) for o in config.output}
    assert config.model_transaction_policy.decoupled
    assert config.max_batch_size >= 1
    assert inputs["text_input"][:2] == (grpcclient.model_config_pb2.TYPE_STRING, [1])
    assert inputs["max_tokens"][:2] == (grpcclient.model_config_pb2.TYPE_INT32, [1])
    assert inputs["stop_words"] == (grpcclient.model_config_pb2.TYPE_STRING, [-1], True)
    assert inputs["stream"] == (grpcclient.model_config_pb2.TYPE_BOOL, [1], True)
    assert inputs["seed"] == (grpcclient.model_config_pb2.TYPE_UINT64, [1], True)
    assert outputs["text_output"] == (grpcclient.model_config_pb2.TYPE_STRING, [-1])
    assert outputs["num_output_tokens"] == (grpcclient.model_config_pb2.TYPE_INT32, [1])


def test_streaming_completion(server: Server) -> None:
    before = _inference_count(server, "ensemble")
    gen = generate(server, PROMPT, max_tokens=64)
    assert gen.finals == 1
    assert len(gen.texts) > 1, "streaming sends one response per token chunk"
    assert "MLOps" in gen.text or "ML" in gen.text
    assert "<|im_end|>" not in gen.text
    assert 0 < gen.num_output_tokens <= 64
    assert gen.num_input_tokens > 5
    assert _inference_count(server, "ensemble") == before + 1
    duration = gen.times[-1] - gen.started
    print(
        f"\nstream: {gen.num_output_tokens} tokens, ttft {1000 * (gen.times[0] - gen.started):.0f} ms, "
        f"{gen.num_output_tokens / duration:.1f} tokens/s; text: {gen.text[:80]!r}"
    )


def test_non_streaming_completion_is_one_response(server: Server) -> None:
    gen = generate(server, PROMPT, max_tokens=32, stream=False)
    assert len(gen.texts) == 1
    assert gen.finals == 1
    assert gen.num_output_tokens == 32 or gen.text  # stopped early or ran to the limit
    assert gen.num_output_tokens <= 32


def test_stop_words_end_the_text(server: Server) -> None:
    full = generate(server, PROMPT, max_tokens=24, temperature=np.array([[0.0]], dtype=np.float32))
    word = full.text.split()[1]
    cut = generate(
        server,
        PROMPT,
        max_tokens=24,
        stop_words=(word,),
        temperature=np.array([[0.0]], dtype=np.float32),
    )
    assert word not in cut.text
    assert full.text.startswith(cut.text)


def test_seed_makes_sampling_repeatable(server: Server) -> None:
    settings = {
        "temperature": np.array([[0.9]], dtype=np.float32),
        "top_p": np.array([[0.95]], dtype=np.float32),
        "seed": np.array([[1234]], dtype=np.uint64),
    }
    first = generate(server, PROMPT, max_tokens=24, **settings)
    second = generate(server, PROMPT, max_tokens=24, **settings)
    assert first.text == second.text


def test_unsupported_beam_search_is_an_error_response(server: Server) -> None:
    with pytest.raises(InferenceServerException, match="beam_width"):
        generate(server, PROMPT, max_tokens=8, beam_width=np.array([[4]], dtype=np.int32))


def test_concurrent_streams_are_served_one_at_a_time(server: Server) -> None:
    questions = ["What is a GPU?", "Name a fruit.", "What is Python?", "Say hello."]
    prompts = [CHATML.format(q) for q in questions]
    greedy = {"temperature": np.array([[0.0]], dtype=np.float32)}
    alone = [generate(server, p, max_tokens=24, **greedy).text for p in prompts]
    results: list[Generation | BaseException] = [RuntimeError("not run")] * len(prompts)

    def run(i: int) -> None:
        try:
            results[i] = generate(server, prompts[i], max_tokens=24, **greedy)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(prompts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    gens = [r for r in results if isinstance(r, Generation)]
    assert len(gens) == len(prompts), results
    # Each stream produced exactly what it produces alone: no token of another request
    # leaked into it. And the streams did not overlap in time: one generation at a time.
    assert [g.text for g in gens] == alone
    # Times are when this client received tokens: the last chunk of one stream may be read
    # a moment after the first chunk of the next (threads, sockets), so allow 50 ms. Two
    # generations running at once would overlap by most of a generation (hundreds of ms).
    spans = sorted((g.times[0], g.times[-1]) for g in gens)
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert end <= start + 0.05


def test_a_cancelled_generation_frees_the_model(server: Server) -> None:
    # 400 tokens at the 30-75 tokens/s of this model take 5-13 s: a generation that went
    # on after its caller left would hold the next request for that long.
    at_least = {"min_tokens": np.array([[400]], dtype=np.int32)}
    inputs = _generation_inputs(PROMPT, 400, True, (), at_least)
    replies: queue.Queue[tuple[object, object]] = queue.Queue()
    client = server.client()
    client.start_stream(callback=lambda result, error: replies.put((result, error)))
    client.async_stream_infer("ensemble", inputs, enable_empty_final_response=True)
    for _ in range(3):
        reply, error = replies.get(timeout=120)
        assert error is None, error
    client.stop_stream(cancel_requests=True)  # the caller goes away after 3 responses
    client.close()
    nxt = generate(server, PROMPT, max_tokens=4)
    waited = nxt.times[0] - nxt.started
    print(f"\nfirst token of the next request {1000 * waited:.0f} ms after the cancel")
    assert waited < 2.0, server.log_tail()


def test_the_paced_model_answers_every_request_at_once_on_its_clock(server: Server) -> None:
    # 8 answers of 20 tokens, 20 ms to the first and 10 ms each after: ~0.21 s each.
    # Served together they take about as long as one; one at a time would take 1.7 s.
    results: list[Generation | None] = [None] * 8

    def run(i: int) -> None:
        results[i] = generate(server, PROMPT, max_tokens=20, model="paced")

    started = time.monotonic()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(results))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    elapsed = time.monotonic() - started
    expected = "".join(f" {i}," for i in range(1, 21))
    for result in results:
        assert result is not None
        assert result.text == expected
        assert (result.num_output_tokens, result.finals) == (20, 1)
        assert result.times[0] - result.started >= 0.019  # not before its first-token time
    print(f"\n8 paced answers of 20 tokens together in {elapsed:.2f} s")
    assert elapsed < 1.0


def test_embeddings(server: Server) -> None:
    texts = [
        b"What is MLOps?",
        b"MLOps is the practice of running machine learning in production.",
        b"The cat sat on the mat.",
    ]
    before = _inference_count(server, "minilm")
    started = time.monotonic()
    reply = server.client().infer(
        "minilm", [_input("text", np.array([[t] for t in texts], dtype=np.object_))]
    )
    elapsed = time.monotonic() - started
    vectors = reply.as_numpy("embedding")
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
    assert _inference_count(server, "minilm") == before + 3  # counted per text
    print(f"\nembed: 3 texts in {1000 * elapsed:.0f} ms")


def test_sigterm_stops_the_server_and_never_passes_off_a_cut_answer(server: Server) -> None:
    # An answer still generating when the server stops (1,500 tokens: 20-50 s, longer than
    # Triton's 5 s exit timeout) must end in an error, not look complete, and must not keep
    # the server from exiting (the model stops generating once Triton is gone).
    outcome: list[object] = []

    def long_answer() -> None:
        at_least = {"min_tokens": np.array([[1500]], dtype=np.int32)}
        try:
            outcome.append(generate(server, PROMPT, max_tokens=1500, stop_words=(), **at_least))
        except BaseException as exc:  # noqa: BLE001 - the assertion below reads it
            outcome.append(exc)

    worker = threading.Thread(target=long_answer)
    worker.start()
    time.sleep(1.0)  # it is generating now
    started = time.monotonic()
    assert _stop(server.process) == 0, server.log_tail()
    stopped = time.monotonic() - started
    print(f"\nstopped in {stopped:.1f}s with an answer in progress")
    assert stopped < 20, server.log_tail()
    worker.join(timeout=60)
    assert len(outcome) == 1
    if isinstance(outcome[0], Generation):  # a final response came: then it is whole
        assert outcome[0].num_output_tokens == 1500, outcome[0]
    else:
        print(f"the answer in progress ended with: {str(outcome[0])[:200]}")
