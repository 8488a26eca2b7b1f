"""RunEvaluation and ``llmops guard eval`` over a real socket and a real Redis, on checks that
need no model, so every figure can be worked out by hand."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from guardrails.main import create_server
from llmops.v1 import guardrails_pb2 as pb
from llmops_core import Settings
from llmops_core.errors import InvalidArgumentError, NotFoundError, ResourceExhaustedError
from llmops_core.testing import serving
from llmops_sdk import GuardrailsClient
from llmops_stack._process import child_python_path

INPUT = pb.GUARD_STAGE_INPUT
# (text, expected_flagged): pii finds the first three; the fourth is a false alarm by design
# (this labeller does not count a test machine's address as personal data); the last a miss.
ROWS = [
    ("Mail ana@example.com today", True),
    ("Call +44 20 7946 0958 now", True),
    ("My SSN is 123-45-6789", True),
    ("Ping the test box at 192.168.1.20", False),
    ("What does LLMOps add to MLOps?", False),
    ("The meeting is at noon.", False),
    ("Reach me on the usual channel", True),  # no detectable data: a miss
]


@pytest.fixture
async def served(settings: Settings, empty_redis):
    data = settings.model_dump()
    data["guardrails"]["input_guards"] = [{"plugin": "pii"}, {"plugin": "size-limit"}]
    data["guardrails"]["output_guards"] = [{"plugin": "pii"}]
    async with (
        serving(create_server(Settings.model_validate(data))) as address,
        GuardrailsClient(address) as client,
    ):
        yield address, client


def _examples() -> list[pb.GuardExample]:
    return [
        pb.GuardExample(id=f"r{i}", stage=INPUT, text=text, expected_flagged=flagged)
        for i, (text, flagged) in enumerate(ROWS)
    ]


async def test_the_figures_of_each_check_and_of_the_policy(served):
    _, client = served
    reply = await client.rpc.RunEvaluation(
        pb.RunEvaluationRequest(examples=_examples(), include_examples=True)
    )
    assert (reply.policy, reply.policy_version) == ("default", 1)
    by_check = {c.check: c for c in reply.checks}
    assert list(by_check) == ["pii", "size-limit", "policy"]
    pii = by_check["pii"]
    counts = (pii.true_positives, pii.false_positives, pii.true_negatives, pii.false_negatives)
    assert counts == (3, 1, 2, 1)
    assert pii.precision == pytest.approx(3 / 4)
    assert pii.recall == pytest.approx(3 / 4)
    assert pii.f1 == pytest.approx(3 / 4)
    assert pii.false_positive_rate == pytest.approx(1 / 3)
    assert pii.examples == 7 and pii.error_count == 0
    # Scores: e-mail 1.0, phone 0.9, SSN 0.9, the miss 0; negatives IP 1.0, 0, 0. Of the 12
    # (positive, negative) pairs the positive wins 6.5 (e-mail/IP tie: 0.5) and ties 2 more.
    assert pii.auc == pytest.approx((6.5 + 2 * 0.5) / 12)
    assert pii.latency_p50_ms > 0 and pii.latency_p99_ms >= pii.latency_p50_ms
    misses = {(m.id, m.expected_flagged) for m in pii.worst_misses}
    assert misses == {("r6", True), ("r3", False)}
    size = by_check["size-limit"]
    assert (size.true_positives, size.false_negatives, size.true_negatives) == (0, 4, 3)
    # The policy counts an example flagged when any check flagged it.
    policy = by_check["policy"]
    assert (policy.true_positives, policy.false_positives) == (3, 1)
    [first] = [e for e in reply.examples if e.id == "r0"]
    assert first.correct and first.expected_flagged
    assert {s.check for s in first.check_scores} == {"pii", "size-limit", "policy"}


async def test_one_check_alone_and_an_expected_category(served):
    _, client = served
    examples = _examples()
    examples[1].expected_category = "pii.email"  # a phone is not what this example asks for
    reply = await client.rpc.RunEvaluation(
        pb.RunEvaluationRequest(examples=examples, checks=["pii"], target_fpr=0.4)
    )
    assert [c.check for c in reply.checks] == ["pii", "policy"]
    pii = reply.checks[0]
    assert (pii.true_positives, pii.false_negatives) == (2, 2)
    assert pii.target_fpr == pytest.approx(0.4)
    assert not reply.examples  # include_examples unset


async def test_bad_requests_are_refused_with_canonical_codes(served):
    _, client = served
    with pytest.raises(InvalidArgumentError, match="no examples"):
        await client.rpc.RunEvaluation(pb.RunEvaluationRequest())
    with pytest.raises(InvalidArgumentError, match="unknown check 'nope'"):
        await client.rpc.RunEvaluation(
            pb.RunEvaluationRequest(examples=_examples(), checks=["nope"])
        )
    with pytest.raises(InvalidArgumentError, match="example 'e' has no stage"):
        await client.rpc.RunEvaluation(
            pb.RunEvaluationRequest(examples=[pb.GuardExample(id="e", text="x")])
        )
    with pytest.raises(InvalidArgumentError, match="example 'blank': text is empty"):
        await client.rpc.RunEvaluation(
            pb.RunEvaluationRequest(examples=[pb.GuardExample(id="blank", stage=INPUT)])
        )
    with pytest.raises(NotFoundError, match="ghost"):
        await client.rpc.RunEvaluation(
            pb.RunEvaluationRequest(examples=_examples(), policy="ghost")
        )
    many = [pb.GuardExample(stage=INPUT, text="x")] * 10_001
    with pytest.raises(ResourceExhaustedError, match="the limit is 10000"):
        await client.rpc.RunEvaluation(pb.RunEvaluationRequest(examples=many), timeout=60)


def _cli(address: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(
        os.environ, PYTHONPATH=child_python_path(), LLMOPS_GUARDRAILS__PORT=address.split(":")[1]
    )
    return subprocess.run(
        [sys.executable, "-m", "llmops_cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_guard_eval_reports_the_same_figures_as_the_service_over_batches(
    served, tmp_path: Path
):
    address, client = served
    dataset = tmp_path / "pii.jsonl"
    dataset.write_text(
        "\n".join(
            json.dumps({"text": t, "label": int(f), "id": f"r{i}"}) for i, (t, f) in enumerate(ROWS)
        )
        + "\n"
    )
    done = await asyncio.to_thread(
        _cli,
        address,
        "guard",
        "eval",
        "--dataset",
        str(dataset),
        "--check",
        "pii",
        "--batch",
        "3",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    [pii] = [c for c in report["checks"] if c["check"] == "pii"]
    assert pii["confusion"] == {"tp": 3, "fp": 1, "tn": 2, "fn": 1}
    assert (pii["precision"], pii["recall"], pii["fpr"]) == (0.75, 0.75, 0.3333)
    assert report["examples"] == 7 and report["policy"] == "default@1"
    served_reply = await client.rpc.RunEvaluation(
        pb.RunEvaluationRequest(examples=_examples(), checks=["pii"])
    )
    assert pii["auc"] == round(served_reply.checks[0].auc, 4)

    human = await asyncio.to_thread(
        _cli, address, "guard", "eval", "--dataset", str(dataset), "--check", "pii"
    )
    assert human.returncode == 0, human.stderr
    assert "pii" in human.stdout and "worst misses of pii" in human.stdout


async def test_guard_eval_names_the_bad_line_of_a_dataset(served, tmp_path: Path):
    address, _ = served
    dataset = tmp_path / "bad.jsonl"
    dataset.write_text('{"text": "fine", "label": 0}\n{"text": "no label"}\n')
    done = await asyncio.to_thread(
        _cli, address, "guard", "eval", "--dataset", str(dataset), "--check", "pii"
    )
    assert done.returncode == 1
    assert f"{dataset}:2: label None is not one of 0/1, true/false" in done.stderr
