"""``llmops policy ...`` as a user runs it, against a real guardrails service on a real Redis.

The service runs in this process on a free port; the CLI runs as a child process. The
child calls back into this process's event loop, so every run waits in a thread.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from guardrails.main import create_server
from llmops_cli.cli_testing import cli_against, write
from llmops_core.testing import redis_snapshot
from llmops_sdk.policy_files import load_policy_file

POLICY_FILE = """\
name: {name}
description: Strict checks for the support assistant.
failure_mode: closed
time_budget_ms: 1500
input:
  - check: prompt-injection
    threshold: 0.7
    action: block
    timeout_ms: 300
  - check: size-limit
    options: {{max_chars: 2000}}
output:
  - pii
  - check: groundedness
    action: flag
    failure_mode: open
labels: [staging]
commit_message: First cut
"""


@pytest.fixture
async def cli(settings, tmp_path):
    async with cli_against(
        create_server(settings), settings, tmp_path, group="policy", service="guardrails"
    ) as cli:
        yield cli


@pytest.fixture
def name() -> str:
    """A policy of this test alone (the test Redis is shared by the session)."""
    return f"t{uuid.uuid4().hex[:10]}"


async def test_push_then_export_is_a_round_trip_onto_the_same_version(cli, name, tmp_path):
    source = write(tmp_path / "policies" / f"{name}.yaml", POLICY_FILE.format(name=name))
    first = await cli.ok("push", str(source), "--author", "ci")
    assert (first["created"], first["unchanged"], first["failed"]) == (1, 0, 0)
    [pushed] = first["files"]
    assert (pushed["name"], pushed["version"], pushed["labels_moved"]) == (name, 1, ["staging"])

    again = await cli.run("push", str(tmp_path / "policies"), as_json=False)
    assert again.returncode == 0, again.stderr
    assert f"[1/1] {source}: {name} v1 unchanged" in again.stdout

    exported = await cli.ok("export", name, "--out", str(tmp_path / "out"))
    [written] = exported["files"]
    assert (written["name"], written["version"], written["labels"]) == (name, 1, ["staging"])
    path = Path(written["file"])
    assert path == tmp_path / "out" / f"{name}.yaml"
    text = path.read_text()
    assert "threshold: 0.7\n" in text and "max_chars: 2000\n" in text  # as written, not 0.699...
    assert (
        load_policy_file(path).policy.input_checks == load_policy_file(source).policy.input_checks
    )
    back = await cli.ok("push", str(path))
    assert back["files"][0]["status"] == "unchanged" and back["files"][0]["version"] == 1
    assert back["files"][0]["labels_moved"] == []


async def test_labels_rollback_diff_and_history_from_the_command_line(cli, name, tmp_path):
    source = write(tmp_path / f"{name}.yaml", POLICY_FILE.format(name=name))
    await cli.ok("push", str(source))
    write(source, POLICY_FILE.format(name=name).replace("threshold: 0.7", "threshold: 0.9"))
    assert (await cli.ok("push", str(source)))["files"][0]["version"] == 2

    assert (await cli.ok("label", name, "production", "1", "--expect", "0"))["label"][
        "version"
    ] == 1
    code, refused = await cli.json("label", name, "production", "2", "--expect", "0")
    assert code == 1 and "(on the command line: --expect 1)" in refused["error"]
    await cli.ok("label", name, "production", "v2", "--expect", "1", "--reason", "promote")
    rolled = await cli.ok("rollback", name, "production", "--author", "oncall")
    assert (rolled["label"]["version"], rolled["previous_version"]) == (1, 2)

    diff = await cli.ok("diff", name, "1", "2")
    assert diff["changed_fields"] == ["input_checks.prompt-injection.threshold"]
    assert "+  threshold: 0.9" in diff["unified_diff"]
    shown = await cli.ok("show", name, "--label", "production")
    assert shown["policy"]["version"] == 1
    listed = await cli.ok("list")
    assert {p["name"]: p["version"] for p in listed["policies"]}[name] == 2
    history = await cli.ok("history", name, "--label", "production")
    assert [(e["type"], e["version"], e["author"]) for e in history["events"]][:2] == [
        ("POLICY_EVENT_TYPE_LABEL_ROLLED_BACK", 1, "oncall"),
        ("POLICY_EVENT_TYPE_LABEL_SET", 2, os.environ.get("USER") or "llmops-cli"),
    ]
    human = await cli.run("show", name, "--version", "2", as_json=False)
    assert human.returncode == 0, human.stderr
    assert human.stdout.startswith(f"# {name} v2, ") and "threshold: 0.9" in human.stdout


async def test_bad_files_are_refused_before_anything_is_pushed(cli, name, tmp_path, settings):
    good = write(tmp_path / "a.yaml", POLICY_FILE.format(name=name))
    broken = write(tmp_path / "b.yaml", "name: x\ninput: [check: pii\n")
    misspelt = write(
        tmp_path / "c.yaml", f"name: {name}-c\ninput:\n  - check: pii\n    treshold: 1\n"
    )
    before = await redis_snapshot(settings.redis.url, "llmops:policy*")
    for bad, message in ((broken, "cannot read the policy file"), (misspelt, "unknown key")):
        code, data = await cli.json("push", str(good), str(bad))
        assert code == 1 and message in data["error"] and str(bad) in data["error"]
    assert await redis_snapshot(settings.redis.url, "llmops:policy*") == before

    unknown = write(
        tmp_path / "d.yaml", POLICY_FILE.format(name=f"{name}-d").replace("- pii", "- no-such")
    )
    code, data = await cli.json("push", str(unknown))
    assert code == 1 and data["failed"] == 1
    assert "unknown check 'no-such'" in data["files"][0]["error"]
    assert "pii" in data["files"][0]["error"]  # the checks that exist
    assert await redis_snapshot(settings.redis.url, "llmops:policy*") == before
