"""``llmops prompt ...`` as a user runs it, against a real prompt registry on a real Redis.

The registry runs in this process on a free port; the CLI runs as a child process. The
child calls back into this process's event loop, so every run waits in a thread.
"""

from __future__ import annotations

import uuid

import pytest

from llmops.v1 import common_pb2
from llmops.v1 import prompt_registry_pb2 as pb
from llmops_cli.cli_testing import cli_against, write
from llmops_core.errors import InvalidArgumentError
from llmops_sdk.prompt_files import (
    dump_prompt_file,
    load_prompt_file,
    prompt_file_path,
    read_prompt_file,
)
from prompt_registry.main import create_server

CHAT_FILE = """\
name: {name}
type: chat
variables: [question, context]
model_config:
  model: smollm2-135m
  sampling: {{max_tokens: 64, temperature: 0.2, stop: ["<|im_end|>"]}}
messages:
  - role: system
    content: Answer from the context only.
  - role: user
    content: "Question: {{{{question}}}}\\n\\nContext:\\n{{{{context}}}}"
tags: [support]
labels: [staging]
commit_message: First answer prompt
"""

TEXT_FILE = """\
name: {name}
type: text
template: |
  Summarise in {{{{words}}}} words:
  {{{{text}}}}
commit_message: Summaries
"""


@pytest.fixture
async def cli(settings, tmp_path):
    async with cli_against(
        create_server(settings), settings, tmp_path, group="prompt", service="prompt_registry"
    ) as cli:
        yield cli


@pytest.fixture
def folder() -> str:
    """A prompt folder of this test alone (the test Redis is shared by the session)."""
    return f"t{uuid.uuid4().hex[:10]}"


async def test_push_twice_creates_once_and_moves_labels_once(cli, folder, tmp_path):
    chat = write(tmp_path / "p/answer.yaml", CHAT_FILE.format(name=f"{folder}/answer"))
    text = write(tmp_path / "p/sub/summary.yaml", TEXT_FILE.format(name=f"{folder}/sub/summary"))

    first = await cli.ok("push", str(chat), str(text), "--label", "dev", "--author", "ci")
    assert (first["created"], first["unchanged"], first["failed"]) == (2, 0, 0)
    by_name = {f["name"]: f for f in first["files"]}
    answer = by_name[f"{folder}/answer"]
    assert answer["status"] == "created" and answer["file"] == str(chat)
    assert answer["version"]["version"] == 1 and answer["version"]["author"] == "ci"
    assert sorted(answer["labels_moved"]) == ["dev", "staging"]
    assert by_name[f"{folder}/sub/summary"]["labels_moved"] == ["dev"]

    again = await cli.run("push", str(chat), str(text), "--label", "dev", as_json=False)
    assert again.returncode == 0, again.stderr
    assert f"[1/2] {chat}: {folder}/answer v1 unchanged" in again.stdout
    assert "2 file(s): 2 unchanged" in again.stdout

    second = await cli.ok("push", str(chat), str(text), "--label", "dev")
    assert (second["created"], second["unchanged"]) == (0, 2)
    assert all(not f["labels_moved"] for f in second["files"])
    versions = await cli.ok("versions", f"{folder}/answer")
    assert [v["version"] for v in versions["versions"]] == [1]

    # A changed file is a new version; the labels it lists follow it.
    write(chat, CHAT_FILE.format(name=f"{folder}/answer").replace("only", "alone"))
    third = await cli.ok("push", str(chat))
    assert third["files"][0]["version"]["version"] == 2
    assert third["files"][0]["labels_moved"] == ["staging"]
    shown = await cli.ok("show", f"{folder}/answer", "--label", "dev")
    assert shown["version"]["version"] == 1 and shown["label"] == "dev"


async def test_push_dry_run_changes_nothing(cli, folder, tmp_path):
    chat = write(tmp_path / "answer.yaml", CHAT_FILE.format(name=f"{folder}/answer"))
    dry = await cli.ok("push", "--dry-run", str(chat))
    assert dry["dry_run"] is True and dry["created"] == 1
    code, missing = await cli.json("versions", f"{folder}/answer")
    assert code == 1 and "NOT_FOUND" in missing["error"]


async def test_export_then_push_is_a_round_trip_onto_the_same_versions(cli, folder, tmp_path):
    name = f"{folder}/team/greeting"
    await cli.ok("create", name, "--template", "Hello {{user}}!", "--tag", "a", "--message", "one")
    await cli.ok(
        "create",
        name,
        "--system",
        "Be kind.",
        "--user",
        "Greet {{user}} in {{language}}.\nOne line.",
        "--model",
        "smollm2-135m",
        "--max-tokens",
        "32",
        "--temperature",
        "0.7",
    )
    await cli.ok("label", name, "production", "1")
    chat = write(tmp_path / "src/answer.yaml", CHAT_FILE.format(name=f"{folder}/answer"))
    await cli.ok("push", str(chat))

    out = tmp_path / "exported"
    exported = await cli.ok("export", f"{folder}/", "--out", str(out))
    files = {f["name"]: f for f in exported["files"]}
    assert set(files) == {name, f"{folder}/answer"}
    assert files[name]["file"] == str(out / folder / "team/greeting.yaml")
    assert files[name]["version"] == 2 and files[name]["labels"] == []
    assert files[f"{folder}/answer"]["labels"] == ["staging"]  # "latest" is left out

    pushed = await cli.ok("push", str(out))  # a folder: every file export wrote
    assert pushed["created"] == 0 and pushed["unchanged"] == 2
    assert {f["name"]: f["version"]["version"] for f in pushed["files"]} == {
        name: 2,
        f"{folder}/answer": 1,
    }
    assert all(not f["labels_moved"] for f in pushed["files"])

    # The labelled version, exported and pushed back: the same version 1, nothing moves.
    labelled = await cli.ok(
        "export", name, "--out", str(tmp_path / "prod"), "--label", "production"
    )
    assert labelled["files"][0]["version"] == 1
    assert labelled["files"][0]["labels"] == ["production"]
    back = await cli.ok("push", labelled["files"][0]["file"])
    assert back["files"][0]["version"]["version"] == 1 and back["unchanged"] == 1
    assert not back["files"][0]["labels_moved"]

    code, missing = await cli.json("export", f"{folder}/nothing", "--out", str(out))
    assert code == 1 and "NOT_FOUND" in missing["error"]


async def test_label_compare_and_set_protection_rollback_split_and_history(cli, folder, tmp_path):
    name = f"{folder}/qa"
    for text in ("v1 {{q}}", "v2 {{q}}", "v3 {{q}}"):
        await cli.ok("create", name, "--template", text)

    moved = await cli.ok("label", name, "production", "v1", "--expect", "0", "--reason", "first")
    assert moved["label"]["name"] == "production" and moved["label"]["version"] == 1

    code, stale = await cli.json("label", name, "production", "2", "--expect", "3")
    assert code == 1
    assert "LABEL_VERSION_MISMATCH" in stale["error"] and "version 1" in stale["error"]
    assert "--expect 1" in stale["error"]  # the fix, as the command line spells it

    await cli.ok("label", name, "production", "2", "--expect", "1")
    protected = await cli.ok("protect", name, "production", "--reason", "release")
    assert protected["label"]["protected"] is True
    code, refused = await cli.json("label", name, "production", "3")
    assert code == 1 and "LABEL_PROTECTED" in refused["error"] and "--force" in refused["error"]
    await cli.ok("label", name, "production", "3", "--force")

    rolled = await cli.ok("rollback", name, "production", "--force", "--reason", "bad answers")
    assert rolled["previous_version"] == 3 and rolled["label"]["version"] == 2

    split = await cli.ok("split", name, "canary", "v2=90", "v3=10")
    assert split["label"]["splits"] == [{"version": 2, "weight": 90}, {"version": 3, "weight": 10}]
    labels = await cli.ok("labels", name)
    assert [lb["name"] for lb in labels["labels"]] == ["canary", "latest", "production"]
    # A file cannot express a split: export leaves split labels out, so pushing the file
    # back keeps the split.
    exported = await cli.ok("export", name, "--label", "canary", "--out", str(tmp_path / "x"))
    assert exported["files"][0]["version"] == 2 and exported["files"][0]["labels"] == ["production"]
    back = await cli.ok("push", exported["files"][0]["file"])
    assert back["unchanged"] == 1 and not back["files"][0]["labels_moved"]
    labels = await cli.ok("labels", name)
    assert labels["labels"][0]["splits"] == split["label"]["splits"]

    history = await cli.ok("history", name, "--label", "production")
    kinds = [e["type"] for e in history["events"]]
    assert kinds[0] == "PROMPT_EVENT_TYPE_LABEL_ROLLED_BACK"
    assert "PROMPT_EVENT_TYPE_LABEL_PROTECTION_CHANGED" in kinds
    assert {e["label"] for e in history["events"]} == {"production"}
    latest = history["events"][0]
    assert (latest["previous_version"], latest["version"]) == (3, 2)
    assert latest["reason"] == "bad answers"

    audit = await cli.ok("history", name, "--limit", "3")
    assert len(audit["events"]) == 3
    assert audit["events"][0]["type"] == "PROMPT_EVENT_TYPE_LABEL_SPLIT"

    table = await cli.run("history", name, as_json=False)
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[0].split()[:3] == ["TIME", "(UTC)", "EVENT"]
    assert "label_rolled_back" in table.stdout and "v3 -> v2" in table.stdout


async def test_render_fills_variables_and_names_the_missing_one(cli, folder):
    name = f"{folder}/greet"
    await cli.ok("create", name, "--system", "Be brief.", "--user", "Hi {{user}}, re: {{topic}}")
    await cli.ok("label", name, "production", "1")

    rendered = await cli.ok(
        "render", name, "--var", "user=Ana", "--var", "topic=a=b", "--var", "x=1"
    )
    assert rendered["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi Ana, re: a=b"},
    ]
    assert rendered["label"] == "production" and rendered["unused_variables"] == ["x"]

    human = await cli.run(
        "render", name, "--version", "1", "--var", "user=Bo", "--var", "topic=t", as_json=False
    )
    assert human.returncode == 0, human.stderr
    assert human.stdout == "[system]\nBe brief.\n\n[user]\nHi Bo, re: t\n"
    assert f"rendered {name} v1" in human.stderr

    code, missing = await cli.json("render", name, "--var", "user=Ana")
    assert code == 1
    assert "topic" in missing["error"] and "MISSING_VARIABLES" in missing["error"]


async def test_diff_shows_changed_fields_and_the_template_diff(cli, folder):
    name = f"{folder}/summary"
    await cli.ok("create", name, "--template", "Summarise:\n{{text}}", "--temperature", "0.2")
    await cli.ok(
        "create", name, "--template", "Summarise briefly:\n{{text}}", "--temperature", "0.5"
    )

    diff = await cli.ok("diff", name, "1", "v2")
    assert diff["from_version"]["version"] == 1 and diff["to_version"]["version"] == 2
    fields = {c["field"]: c for c in diff["changes"]}
    assert "template" in fields
    assert fields["model_config.sampling.temperature"]["after"] == "0.5"
    assert "-Summarise:" in diff["unified_diff"] and "+Summarise briefly:" in diff["unified_diff"]

    human = await cli.run("diff", name, "1", "2", as_json=False)
    assert human.returncode == 0, human.stderr
    assert f"{name} v1 -> v2" in human.stdout
    assert "model_config.sampling.temperature: 0.2 -> 0.5" in human.stdout
    assert "+Summarise briefly:" in human.stdout

    same = await cli.ok("diff", name, "2", "2")
    assert same["changes"] == []


async def test_list_show_and_versions_have_stable_json_shapes(cli, folder, tmp_path):
    name = f"{folder}/docs/answer"
    created = await cli.ok(
        "create", name, "--template", "{{q}}", "--tag", "docs", "--author", "ana"
    )
    assert created["created"] is True and created["version"]["version"] == 1
    again = await cli.ok("create", name, "--template", "{{q}}")
    assert again["created"] is False and again["version"]["version"] == 1
    await cli.ok("create", name, "--template", "Q: {{q}}", "--tag", "docs")
    await cli.ok("create", f"{folder}/other", "--template", "{{q}}", "--tag", "misc")

    listed = await cli.ok("list", "--prefix", f"{folder}/")
    assert [p["name"] for p in listed["prompts"]] == [name, f"{folder}/other"]
    first = listed["prompts"][0]
    assert (first["latest_version"], first["version_count"]) == (2, 2)
    assert first["type"] == "PROMPT_TYPE_TEXT" and first["tags"] == ["docs"]
    assert [lb["name"] for lb in first["labels"]] == ["latest"]
    tagged = await cli.ok("list", "--prefix", f"{folder}/", "--tag", "misc")
    assert [p["name"] for p in tagged["prompts"]] == [f"{folder}/other"]

    shown = await cli.ok("show", name)
    assert shown["label"] == "" and shown["version"]["version"] == 2
    assert shown["version"]["labels"] == ["latest"]
    assert shown["version"]["content"]["variables"] == ["q"]
    old = await cli.ok("show", name, "--version", "1")
    assert old["version"]["author"] == "ana" and old["version"]["content"]["template"] == "{{q}}"

    versions = await cli.ok("versions", name)
    assert [v["version"] for v in versions["versions"]] == [2, 1]
    assert set(versions["versions"][0]) >= {"name", "version", "content", "create_time", "labels"}

    table = await cli.run("list", "--prefix", f"{folder}/", as_json=False)
    lines = table.stdout.splitlines()
    assert lines[0].split()[:4] == ["NAME", "LATEST", "VERSIONS", "TYPE"]
    # Aligned: every row's second column starts where the header's does.
    column = lines[0].index("LATEST")
    assert all(line[column] == "v" for line in lines[1:]), table.stdout

    human = await cli.run("show", name, as_json=False)
    assert human.stdout.startswith(f"{name} v2\n") and human.stdout.rstrip().endswith("Q: {{q}}")


async def test_bad_input_is_a_usage_error(cli, folder, tmp_path):
    cases = [
        (("render", "x", "--var", "novalue"), "expected NAME=VALUE"),
        (("render", "x", "--var", "a=1", "--var", "a=2"), "--var a given more than once"),
        (("split", "x", "canary", "v1=90", "v2=0"), "weight must be a positive"),
        (("split", "x", "canary", "v1"), "expected VERSION=WEIGHT"),
        (("split", "x", "canary", "v1=50", "1=50"), "only once"),
        (("label", "x", "production", "three"), "expected a version"),
        (("create", "x"), "give --template"),
        (("create", "x", "--template", "a", "--user", "b"), "not both"),
        (("show", "x", "--label", "a", "--version", "1"), "not allowed with"),
        (("export", "x"), "--out"),
    ]
    for args, message in cases:
        done = await cli.run(*args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert message in done.stderr, (args, done.stderr)

    (tmp_path / "empty").mkdir()
    code, empty = await cli.json("push", str(tmp_path / "empty"))
    assert code == 1 and "no *.yaml prompt files" in empty["error"]
    code, missing = await cli.json("push", str(tmp_path / "missing.yaml"))
    assert code == 1 and "missing.yaml" in missing["error"]
    typo = write(tmp_path / "typo.yaml", f"name: {folder}/a\ntemplate: hi\nlabel: [prod]\n")
    code, bad = await cli.json("push", str(typo))
    assert code == 1 and "unknown key(s) label" in bad["error"]
    auto = write(tmp_path / "auto.yaml", f"name: {folder}/a\ntemplate: hi\nlabels: [latest]\n")
    code, bad = await cli.json("push", str(auto))
    assert code == 1 and "'latest' moves by itself" in bad["error"]
    # Nothing was pushed: files are checked before the first change.
    good = write(tmp_path / "good.yaml", f"name: {folder}/b\ntemplate: hi\n")
    code, _ = await cli.json("push", str(good), str(typo))
    assert code == 1
    code, _ = await cli.json("versions", f"{folder}/b")
    assert code == 1

    code, server = await cli.json("create", "Not A Name", "--template", "x")
    assert code == 1 and "Not A Name" in server["error"]


def test_prompt_files_round_trip_every_field(tmp_path):
    spec = pb.PromptSpec(
        name="team/rag",
        content=pb.PromptContent(
            type=pb.PROMPT_TYPE_CHAT,
            messages=[
                common_pb2.ChatMessage(role="system", content="  Indented\ttab, trailing  \n"),
                common_pb2.ChatMessage(role="user", content="Q: {{q}}\n\n# not a comment: [1]"),
                common_pb2.ChatMessage(role="assistant", content="yes: no"),
            ],
            variables=["q"],
            model_config=pb.ModelConfig(
                model="m",
                sampling=common_pb2.SamplingParams(
                    max_tokens=5, temperature=0.3, top_p=0.9, stop=["<|im_end|>", "\n"], seed=7
                ),
            ),
        ),
        tags=["a", "ünï"],
        commit_message="multi\nline",
        labels=["production"],
    )
    path = prompt_file_path(tmp_path, spec.name)
    assert path == tmp_path / "team/rag.yaml"
    path.parent.mkdir()
    path.write_text(dump_prompt_file(spec, author="ana"))
    loaded = load_prompt_file(path)
    assert loaded.spec == spec and loaded.author == "ana"
    assert "seed: 7" in path.read_text()

    text = pb.PromptSpec(
        name="t", content=pb.PromptContent(type=pb.PROMPT_TYPE_TEXT, template="{{a}} {{b}}")
    )
    (tmp_path / "t.yaml").write_text(dump_prompt_file(text))
    assert load_prompt_file(tmp_path / "t.yaml").spec.content.variables == []  # written, empty

    # Without `variables:` the placeholders are the variables, in order of appearance.
    (tmp_path / "v.yaml").write_text("name: v\ntemplate: '{{b}} {{a}} {{b}}'\n")
    request = read_prompt_file(tmp_path / "v.yaml")
    assert list(request.content.variables) == ["b", "a"] and request.author == "prompt-file"

    for bad in ("..", "a//b", ""):
        with pytest.raises(InvalidArgumentError):
            prompt_file_path(tmp_path, bad)
