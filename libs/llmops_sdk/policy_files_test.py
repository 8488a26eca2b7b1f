"""Policy files: YAML in, the Policy message out, and back into the same text."""

from __future__ import annotations

import pytest

from llmops.v1 import common_pb2
from llmops.v1 import guardrails_pb2 as pb
from llmops_core.errors import InvalidArgumentError
from llmops_sdk.policy_files import (
    dump_policy_file,
    float32_value,
    load_policy_file,
    policy_file_path,
)

FILE = """\
name: strict
description: Strict checks.
failure_mode: open
time_budget_ms: 1500
streaming:
  window_chars: 300
  overlap_chars: 40
  sentence_aware: false
input:
- check: prompt-injection
  threshold: 0.7
  action: block
  failure_mode: closed
  timeout_ms: 250.5
- check: pii
  category_actions:
    pii.email: redact
    pii.us_ssn: block
  options:
    categories:
    - email
    - us-ssn
    max_findings: 3
output:
- check: groundedness
labels:
- staging
commit_message: Stricter
"""


def _write(tmp_path, text: str):
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    return path


def test_a_file_reads_into_the_policy_it_declares(tmp_path):
    loaded = load_policy_file(_write(tmp_path, FILE + "author: ana\n"))
    policy = loaded.policy
    assert (policy.name, policy.description, policy.author) == ("strict", "Strict checks.", "ana")
    assert policy.failure_mode == pb.FAILURE_MODE_OPEN
    assert policy.time_budget.ToMilliseconds() == 1500
    assert (policy.streaming.window_chars, policy.streaming.overlap_chars) == (300, 40)
    assert not policy.streaming.sentence_aware
    injection, pii = policy.input_checks
    assert injection.threshold == pytest.approx(0.7)
    assert injection.action == common_pb2.GUARD_ACTION_BLOCK
    assert injection.failure_mode == pb.FAILURE_MODE_CLOSED
    assert injection.timeout.ToNanoseconds() == 250_500_000
    assert dict(pii.category_actions) == {
        "pii.email": common_pb2.GUARD_ACTION_REDACT,
        "pii.us_ssn": common_pb2.GUARD_ACTION_BLOCK,
    }
    assert list(pii.options["categories"]) == ["email", "us-ssn"]
    assert [c.check for c in policy.output_checks] == ["groundedness"]
    assert loaded.labels == ("staging",)


def test_dumping_gives_back_the_file_people_wrote(tmp_path):
    loaded = load_policy_file(_write(tmp_path, FILE))
    assert dump_policy_file(loaded.policy, loaded.labels) == FILE


def test_short_forms_and_defaults(tmp_path):
    loaded = load_policy_file(
        _write(tmp_path, "name: p\ninput: [pii]\nstreaming: {window_chars: 500}\nlabels: prod\n")
    )
    assert [c.check for c in loaded.policy.input_checks] == ["pii"]
    assert loaded.policy.streaming.overlap_chars == 50  # the service's default
    assert loaded.policy.streaming.sentence_aware
    assert not loaded.policy.HasField("time_budget")
    assert loaded.labels == ("prod",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: p\ninput: [check: pii\n", "cannot read the policy file"),
        ("- just a list\n", "a mapping with at least a name"),
        ("name: p\nlabel: prod\n", "unknown key.*label"),
        ("name: p\ninput:\n  - check: pii\n    treshold: 0.5\n", "unknown key.*treshold"),
        ("name: p\ninput:\n  - check: pii\n    action: shout\n", "use one of allow"),
        ("name: p\ninput:\n  - check: pii\n    threshold: high\n", "must be a number"),
        ("name: p\nfailure_mode: maybe\n", "use one of open, closed"),
        ("name: p\ntime_budget_ms: soon\n", "number of milliseconds"),
        ("name: p\ninput: pii\n", "must be a list of checks"),
        ("name: p\ninput: [{threshold: 1}]\n", "a check name or a mapping"),
        ("name: p\nstreaming: {window: 3}\n", "unknown key.*window"),
        ("name: p\nstreaming: {window_chars: -3}\n", "whole number"),
        ("name: p\ninput:\n  - check: pii\n    options: [a]\n", "options must be a mapping"),
        ("name: p\nlabels: [1, 2]\n", "list of names"),
    ],
)
def test_bad_files_name_the_file_and_the_fix(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(InvalidArgumentError, match=message) as refused:
        load_policy_file(path)
    assert str(path) in str(refused.value)


def test_float32_values_print_as_written():
    stored = pb.CheckConfig(threshold=0.7).threshold
    assert stored != 0.7 and float32_value(stored) == 0.7
    assert float32_value(pb.CheckConfig(threshold=0.123456).threshold) == 0.123456
    assert float32_value(0.5) == 0.5


def test_policy_file_paths_stay_in_the_folder(tmp_path):
    assert policy_file_path(tmp_path, "strict") == tmp_path / "strict.yaml"
    for name in ("", "../x", "a/b", ".hidden"):
        with pytest.raises(InvalidArgumentError):
            policy_file_path(tmp_path, name)
