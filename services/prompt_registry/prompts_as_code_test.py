"""ImportPrompts and ExportPrompts over a real socket: prompts as code, idempotent."""

from __future__ import annotations

import pytest

from llmops.v1 import prompt_registry_pb2 as pb
from llmops_core.errors import InvalidArgumentError
from llmops_core.testing import redis_snapshot
from prompt_registry.testing import chat, text, unique_name


def _spec(name: str, content: pb.PromptContent, *labels: str, **fields) -> pb.PromptSpec:
    return pb.PromptSpec(name=name, content=content, labels=labels, **fields)


async def _import(client, *specs, **fields) -> list[pb.PromptImportResult]:
    response = await client.rpc.ImportPrompts(pb.ImportPromptsRequest(prompts=specs, **fields))
    return list(response.results)


async def test_import_creates_changed_versions_moves_labels_and_is_idempotent(client, redis_url):
    folder = unique_name("code")
    specs = [
        _spec(f"{folder}/a", chat("A"), "production", tags=["x"], commit_message="a"),
        _spec(f"{folder}/b", text("B {{q}}", "q"), "staging", "production"),
    ]
    first = await _import(client, *specs, author="ci")
    assert [
        (r.name, r.version.version, r.created, list(r.labels_moved), r.error) for r in first
    ] == [
        (f"{folder}/a", 1, True, ["production"], ""),
        (f"{folder}/b", 1, True, ["staging", "production"], ""),
    ]
    assert first[0].version.author == "ci" and list(first[0].version.tags) == ["x"]
    before = await redis_snapshot(redis_url)
    again = await _import(client, *specs, author="ci")
    assert [(r.version.version, r.created, list(r.labels_moved)) for r in again] == [
        (1, False, []),
        (1, False, []),
    ]
    assert await redis_snapshot(redis_url) == before  # nothing written, not even an audit event
    changed = await _import(client, _spec(f"{folder}/a", chat("A, revised"), "production"))
    assert (changed[0].version.version, changed[0].created) == (2, True)
    assert list(changed[0].labels_moved) == ["production"]
    resolved = await client.rpc.ResolvePrompt(
        pb.ResolvePromptRequest(name=f"{folder}/a", label="production")
    )
    assert resolved.version.version == 2
    # Back to the first content: its existing version, and the label moves back to it.
    reverted = await _import(client, _spec(f"{folder}/a", chat("A"), "production"))
    assert (reverted[0].version.version, reverted[0].created) == (1, False)
    assert list(reverted[0].labels_moved) == ["production"]


async def test_a_dry_run_reports_without_changing_anything(client, redis_url):
    folder = unique_name("dry")
    await _import(client, _spec(f"{folder}/a", text("one"), "production"))
    before = await redis_snapshot(redis_url)
    report = await _import(
        client,
        _spec(f"{folder}/a", text("two"), "production"),
        _spec(f"{folder}/a", text("three")),
        _spec(f"{folder}/new", text("fresh"), "staging"),
        _spec(f"{folder}/a", text("one"), "production"),
        dry_run=True,
    )
    assert [(r.version.version, r.created, list(r.labels_moved)) for r in report] == [
        (2, True, ["production"]),
        (3, True, []),
        (1, True, ["staging"]),
        (1, False, []),
    ]
    assert await redis_snapshot(redis_url) == before


async def test_one_bad_spec_fails_alone(client):
    folder = unique_name("mixed")
    await _import(client, _spec(f"{folder}/locked", text("v1"), "production"))
    await client.rpc.ProtectLabel(
        pb.ProtectLabelRequest(name=f"{folder}/locked", label="production", protected=True)
    )
    results = await _import(
        client,
        _spec("Bad Name", text("x")),
        _spec(f"{folder}/broken", text("Hi {{ name")),
        _spec(f"{folder}/locked", text("v2"), "production"),
        _spec(f"{folder}/fine", text("ok"), "production", "latest"),
        _spec(f"{folder}/badlabel", text("ok"), "Prod!"),
    )
    assert "not a valid name" in results[0].error
    assert "never closed" in results[1].error and not results[1].HasField("version")
    # The version is created; the protected label is not moved, and the result says why.
    assert results[2].version.version == 2 and results[2].created
    assert "protected; set allow_protected" in results[2].error
    assert (results[3].error, list(results[3].labels_moved)) == ("", ["production"])
    assert "not a valid label name" in results[4].error
    forced = await _import(
        client, _spec(f"{folder}/locked", text("v2"), "production"), allow_protected=True
    )
    assert (forced[0].error, list(forced[0].labels_moved)) == ("", ["production"])
    with pytest.raises(InvalidArgumentError, match="at least one prompt spec"):
        await _import(client)


async def test_export_round_trips_through_import(client):
    folder = unique_name("export")
    await _import(
        client,
        _spec(f"{folder}/a", chat("A1"), "production", commit_message="first"),
        _spec(f"{folder}/b", text("B1 {{x}}", "x"), tags=["t"]),
    )
    await _import(client, _spec(f"{folder}/a", chat("A2"), "staging"))
    await client.rpc.SetLabelSplit(
        pb.SetLabelSplitRequest(
            name=f"{folder}/b",
            label="canary",
            splits=[pb.LabelSplit(version=1, weight=1)],
        )
    )
    newest = (await client.rpc.ExportPrompts(pb.ExportPromptsRequest(prefix=folder + "/"))).prompts
    assert [
        (s.name, s.content.messages[0].content if s.content.messages else s.content.template)
        for s in newest
    ] == [(f"{folder}/a", "A2"), (f"{folder}/b", "B1 {{x}}")]
    assert list(newest[0].labels) == ["latest", "staging"]
    assert list(newest[1].tags) == ["t"]
    production = await client.rpc.ExportPrompts(
        pb.ExportPromptsRequest(prefix=folder + "/", label="production")
    )
    assert [(s.name, s.commit_message, list(s.labels)) for s in production.prompts] == [
        (f"{folder}/a", "first", ["production"])
    ]
    # Importing what was exported changes nothing.
    replay = await _import(client, *newest, *production.prompts)
    assert all(not r.created and not r.labels_moved and not r.error for r in replay)
    # ... and rebuilds the same pointers under another name.
    copies = [
        pb.PromptSpec(
            name=spec.name.replace(folder, folder + "-copy"),
            content=spec.content,
            tags=spec.tags,
            commit_message=spec.commit_message,
            labels=spec.labels,
        )
        for spec in production.prompts
    ]
    copied = await _import(client, *copies)
    assert [(r.version.version, list(r.labels_moved)) for r in copied] == [(1, ["production"])]
    with pytest.raises(InvalidArgumentError):
        await client.rpc.ExportPrompts(pb.ExportPromptsRequest(prefix="UPPER"))
