"""The registry's pure rules: canonical content, paging tokens, sticky points, gate admission."""

from __future__ import annotations

import pytest

from llmops_core import PromotionGateRecord, paging
from llmops_core.errors import InvalidArgumentError
from prompt_registry.content import content_hash, normalise_content
from prompt_registry.domain import sticky_point
from prompt_registry.gates import EvaluationRunFacts, admission_problem


def _text(**fields):
    return {"type": "text", "template": "Hi {{who}}", "variables": ["who"], **fields}


def test_equal_meaning_is_equal_content():
    plain = normalise_content(_text())
    empty_config = normalise_content(_text(model_config={"sampling": {}}))
    zero_sampling = normalise_content(_text(model_config={"model": "", "sampling": {"top_k": 0}}))
    assert plain == empty_config == zero_sampling
    assert plain["model_config"] == {}
    assert content_hash(plain) == content_hash(empty_config)
    seeded = normalise_content(_text(model_config={"sampling": {"seed": "0"}}))
    assert seeded["model_config"] == {"sampling": {"seed": "0"}}  # seed 0 is a seed
    assert content_hash(seeded) != content_hash(plain)


def test_chat_content_keeps_roles_and_declared_order():
    content = normalise_content(
        {
            "type": "chat",
            "template": "",
            "messages": [
                {"role": "system", "content": "Use {{b}}."},
                {"role": "user", "content": "{{a}}"},
            ],
            "variables": ["a", "b"],
            "model_config": {"model": "m", "sampling": {"temperature": 0.5, "stop": ["x"]}},
        }
    )
    assert content == {
        "type": "chat",
        "messages": [
            {"role": "system", "content": "Use {{b}}."},
            {"role": "user", "content": "{{a}}"},
        ],
        "variables": ["a", "b"],
        "model_config": {"model": "m", "sampling": {"temperature": 0.5, "stop": ["x"]}},
    }


def test_unknown_model_config_fields_are_rejected():
    with pytest.raises(InvalidArgumentError, match="unknown field"):
        normalise_content(_text(model_config={"sampling": {"temprature": 1}}))


def test_page_tokens_round_trip_and_are_bound_to_filters():
    token = paging.encode_token("x/y", ("prompts", "x/", "", ""))
    assert paging.decode_token(token, ("prompts", "x/", "", ""), str) == "x/y"
    assert paging.decode_token("", ("prompts",), str) is None
    with pytest.raises(InvalidArgumentError, match="other filters"):
        paging.decode_token(token, ("prompts", "z/", "", ""), str)
    with pytest.raises(InvalidArgumentError, match="not a token"):
        paging.decode_token(token, ("prompts", "x/", "", ""), int)
    with pytest.raises(InvalidArgumentError, match="not a token"):
        paging.decode_token(token[:-3], ("prompts", "x/", "", ""), str)
    assert paging.page_size(0) == 50
    assert paging.page_size(5000) == 1000


def test_sticky_points_are_stable_and_spread():
    assert sticky_point("p", "production", "u1") == sticky_point("p", "production", "u1")
    assert sticky_point("p", "production", "u1") != sticky_point("p", "staging", "u1")
    buckets = [sticky_point("p", "production", f"user-{i}") % 100 for i in range(10_000)]
    share = sum(bucket < 10 for bucket in buckets) / len(buckets)
    assert 0.08 < share < 0.12


def _run(**fields) -> EvaluationRunFacts:
    base = {
        "run_id": "r1",
        "prompt_name": "p",
        "version": 3,
        "dataset": "golden@2",
        "succeeded": True,
        "passed": True,
        "metrics": {"accuracy": 0.92},
    }
    return EvaluationRunFacts(**{**base, **fields})


@pytest.mark.parametrize(
    ("gate", "run", "problem"),
    [
        (PromotionGateRecord(), _run(), ""),
        (PromotionGateRecord(metric="accuracy", min_score=0.9), _run(passed=False), ""),
        (PromotionGateRecord(dataset="golden"), _run(), ""),
        (PromotionGateRecord(dataset="golden@2"), _run(), ""),
        (PromotionGateRecord(), _run(version=2), "evaluated p@2, not p@3"),
        (PromotionGateRecord(), _run(prompt_name="q"), "evaluated q@3"),
        (PromotionGateRecord(), _run(succeeded=False), "has not succeeded"),
        (PromotionGateRecord(), _run(passed=False), "did not pass"),
        (PromotionGateRecord(dataset="other"), _run(), "used dataset 'golden@2'"),
        (PromotionGateRecord(dataset="golden@1"), _run(), "the gate needs 'golden@1'"),
        (PromotionGateRecord(metric="accuracy", min_score=0.95), _run(), "below the gate's 0.95"),
        (PromotionGateRecord(metric="f1", min_score=0.5), _run(), "no metric 'f1'"),
    ],
)
def test_gate_admission(gate, run, problem):
    found = admission_problem(gate, run, "p", 3)
    assert (found == "") if not problem else (problem in found), found
