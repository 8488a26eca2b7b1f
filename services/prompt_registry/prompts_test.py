"""Prompts and their versions over a real socket: get, list with filters and pages, diff, delete."""

from __future__ import annotations

import pytest

from llmops.v1 import common_pb2
from llmops.v1 import prompt_registry_pb2 as pb
from llmops_core.errors import FailedPreconditionError, InvalidArgumentError, NotFoundError
from prompt_registry.testing import chat, prompt_with_versions, push, text, unique_name


async def test_get_prompt_summarises_versions_labels_and_tags(client):
    name = unique_name()
    first = await push(client, name, chat("one"), tags=["a"])
    await push(client, name, text("Hi {{who}}", "who"), tags=["b", "c"], author="ana")
    await client.rpc.SetLabel(pb.SetLabelRequest(name=name, label="production", version=1))
    prompt = (await client.rpc.GetPrompt(pb.GetPromptRequest(name=name))).prompt
    assert (prompt.name, prompt.latest_version, prompt.version_count) == (name, 2, 2)
    assert [(label.name, label.version) for label in prompt.labels] == [
        ("latest", 2),
        ("production", 1),
    ]
    assert list(prompt.tags) == ["b", "c"]
    assert prompt.type == pb.PROMPT_TYPE_TEXT
    assert prompt.create_time.ToSeconds() == first.create_time.ToSeconds()
    assert prompt.update_time.ToNanoseconds() >= prompt.create_time.ToNanoseconds()
    with pytest.raises(NotFoundError, match="does not exist"):
        await client.rpc.GetPrompt(pb.GetPromptRequest(name=unique_name()))


async def test_get_version_zero_is_the_newest_and_versions_carry_their_labels(client):
    name = await prompt_with_versions(client, 3)
    await client.rpc.SetLabel(pb.SetLabelRequest(name=name, label="staging", version=2))
    await client.rpc.SetLabelSplit(
        pb.SetLabelSplitRequest(
            name=name,
            label="production",
            splits=[pb.LabelSplit(version=2, weight=9), pb.LabelSplit(version=3, weight=1)],
        )
    )
    newest = (await client.rpc.GetPromptVersion(pb.GetPromptVersionRequest(name=name))).version
    assert (newest.version, list(newest.labels)) == (3, ["latest", "production"])
    second = await client.rpc.GetPromptVersion(pb.GetPromptVersionRequest(name=name, version=2))
    assert list(second.version.labels) == ["production", "staging"]
    first = await client.rpc.GetPromptVersion(pb.GetPromptVersionRequest(name=name, version=1))
    assert list(first.version.labels) == []


async def test_list_versions_pages_newest_first(client):
    name = await prompt_with_versions(client, 5)
    seen, token = [], ""
    while True:
        page = await client.rpc.ListPromptVersions(
            pb.ListPromptVersionsRequest(name=name, page_size=2, page_token=token)
        )
        seen.append([version.version for version in page.versions])
        token = page.next_page_token
        if not token:
            break
    assert seen == [[5, 4], [3, 2], [1]]
    everything = await client.rpc.ListPromptVersions(pb.ListPromptVersionsRequest(name=name))
    assert [v.version for v in everything.versions] == [5, 4, 3, 2, 1]
    assert everything.next_page_token == ""
    assert everything.versions[0].content.template == "v5"
    with pytest.raises(NotFoundError, match="does not exist"):
        await client.rpc.ListPromptVersions(pb.ListPromptVersionsRequest(name=unique_name()))
    with pytest.raises(InvalidArgumentError, match="page_token"):
        await client.rpc.ListPromptVersions(
            pb.ListPromptVersionsRequest(name=name, page_token="garbage!")
        )
    other = await prompt_with_versions(client, 3)
    first = await client.rpc.ListPromptVersions(
        pb.ListPromptVersionsRequest(name=name, page_size=2)
    )
    with pytest.raises(InvalidArgumentError, match="other filters"):
        await client.rpc.ListPromptVersions(
            pb.ListPromptVersionsRequest(name=other, page_token=first.next_page_token)
        )


async def test_list_prompts_filters_by_folder_tag_and_label_and_pages_in_name_order(client):
    folder = unique_name("lists")
    names = [f"{folder}/p{index:02d}" for index in range(7)]
    for index, name in enumerate(names):
        await push(client, name, text(f"prompt {index}"), tags=["even"] if index % 2 == 0 else [])
        if index % 3 == 0:
            await client.rpc.SetLabel(pb.SetLabelRequest(name=name, label="production", version=1))
    await push(client, f"{folder}-sibling/x", text("outside the folder"))

    async def all_pages(**filters) -> list[list[str]]:
        pages, token = [], ""
        while True:
            page = await client.rpc.ListPrompts(pb.ListPromptsRequest(page_token=token, **filters))
            pages.append([prompt.name for prompt in page.prompts])
            token = page.next_page_token
            if not token:
                return pages

    assert await all_pages(prefix=folder + "/", page_size=3) == [
        names[0:3],
        names[3:6],
        names[6:7],
    ]
    assert sum(await all_pages(prefix=folder + "/", tag="even", page_size=2), []) == names[0::2]
    assert sum(await all_pages(prefix=folder + "/", label="production"), []) == names[0::3]
    both = await all_pages(prefix=folder + "/", label="production", tag="even")
    assert sum(both, []) == [names[0], names[6]]
    listed = await client.rpc.ListPrompts(pb.ListPromptsRequest(prefix=folder + "/", page_size=1))
    assert listed.prompts[0].latest_version == 1
    assert [label.name for label in listed.prompts[0].labels] == ["latest", "production"]
    first_page = await client.rpc.ListPrompts(pb.ListPromptsRequest(prefix=folder, page_size=2))
    with pytest.raises(InvalidArgumentError, match="other filters"):
        await client.rpc.ListPrompts(
            pb.ListPromptsRequest(prefix=folder, tag="even", page_token=first_page.next_page_token)
        )
    for bad in ({"page_size": -1}, {"prefix": "Bad Prefix"}, {"page_token": "%%%"}):
        with pytest.raises(InvalidArgumentError):
            await client.rpc.ListPrompts(pb.ListPromptsRequest(**bad))


async def test_page_size_is_capped_at_1000(client):
    folder = unique_name("cap")
    for index in range(3):
        await push(client, f"{folder}/p{index}", text("x"))
    page = await client.rpc.ListPrompts(pb.ListPromptsRequest(prefix=folder, page_size=5000))
    assert len(page.prompts) == 3 and page.next_page_token == ""


async def test_diff_shows_template_lines_and_changed_fields(client):
    name = unique_name()
    await push(client, name, chat("Be brief.", "{{context}}\nQ: {{question}}"), tags=["a"])
    changed = chat("Be brief and polite.", "{{context}}\nQ: {{question}}")
    changed.model_config.sampling.temperature = 0.7
    changed.model_config.sampling.stop.append("\n\n")
    await push(client, name, changed, tags=["a", "b"])
    diff = await client.rpc.DiffPromptVersions(
        pb.DiffPromptVersionsRequest(name=name, from_version=1, to_version=2)
    )
    assert diff.unified_diff.splitlines()[:3] == [
        f"--- {name}@1",
        f"+++ {name}@2",
        "@@ -1,3 +1,3 @@",
    ]
    assert "-system: Be brief." in diff.unified_diff
    assert "+system: Be brief and polite." in diff.unified_diff
    changes = {change.field: (change.before, change.after) for change in diff.changes}
    assert changes == {
        "messages[0].content": ("Be brief.", "Be brief and polite."),
        "model_config.sampling.temperature": ("0.2", "0.7"),
        "model_config.sampling.stop": ("", '["\\n\\n"]'),
        "tags": ("a", "a, b"),
    }
    assert (diff.from_version.version, diff.to_version.version) == (1, 2)
    same = await client.rpc.DiffPromptVersions(
        pb.DiffPromptVersionsRequest(name=name, from_version=2, to_version=2)
    )
    assert (same.unified_diff, list(same.changes)) == ("", [])
    with pytest.raises(NotFoundError, match="no version 3"):
        await client.rpc.DiffPromptVersions(
            pb.DiffPromptVersionsRequest(name=name, from_version=1, to_version=3)
        )
    with pytest.raises(InvalidArgumentError, match="from_version is 0"):
        await client.rpc.DiffPromptVersions(pb.DiffPromptVersionsRequest(name=name, to_version=1))


async def test_diff_between_a_text_and_a_chat_version(client):
    name = unique_name()
    await push(client, name, text("Summarise: {{doc}}", "doc"))
    await push(
        client,
        name,
        pb.PromptContent(
            type=pb.PROMPT_TYPE_CHAT,
            messages=[common_pb2.ChatMessage(role="user", content="Summarise: {{doc}}")],
            variables=["doc"],
        ),
    )
    diff = await client.rpc.DiffPromptVersions(
        pb.DiffPromptVersionsRequest(name=name, from_version=1, to_version=2)
    )
    fields = [change.field for change in diff.changes]
    assert fields == ["type", "template", "messages[0].role", "messages[0].content"]
    assert "-Summarise: {{doc}}" in diff.unified_diff
    assert "+user: Summarise: {{doc}}" in diff.unified_diff


async def test_delete_prompt_removes_it_keeps_its_audit_log_and_respects_protection(client):
    name = await prompt_with_versions(client, 2)
    await client.rpc.SetLabel(pb.SetLabelRequest(name=name, label="production", version=1))
    await client.rpc.ProtectLabel(
        pb.ProtectLabelRequest(name=name, label="production", protected=True)
    )
    with pytest.raises(
        FailedPreconditionError, match="protected label.*production.*allow_protected"
    ):
        await client.rpc.DeletePrompt(pb.DeletePromptRequest(name=name))
    assert (await client.rpc.GetPrompt(pb.GetPromptRequest(name=name))).prompt.latest_version == 2
    deleted = await client.rpc.DeletePrompt(
        pb.DeletePromptRequest(name=name, allow_protected=True, author="ana", reason="retired")
    )
    assert deleted.deleted
    with pytest.raises(NotFoundError, match="does not exist"):
        await client.rpc.GetPrompt(pb.GetPromptRequest(name=name))
    with pytest.raises(NotFoundError, match="does not exist"):
        await client.rpc.ResolvePrompt(pb.ResolvePromptRequest(name=name, label="production"))
    listed = await client.rpc.ListPrompts(pb.ListPromptsRequest(prefix=name))
    assert list(listed.prompts) == []
    with pytest.raises(NotFoundError, match="does not exist"):
        await client.rpc.DeletePrompt(pb.DeletePromptRequest(name=name))
    again = await client.rpc.DeletePrompt(pb.DeletePromptRequest(name=name, allow_missing=True))
    assert not again.deleted
    audit = await client.rpc.ListAuditEvents(pb.ListAuditEventsRequest(prompt_name=name))
    assert audit.events[0].type == pb.PROMPT_EVENT_TYPE_PROMPT_DELETED
    assert (audit.events[0].author, audit.events[0].reason) == ("ana", "retired")
    assert audit.events[0].previous_version == 2
    # The name can be used again: a new prompt, numbered from 1.
    reborn = await push(client, name, text("new life"))
    assert reborn.version == 1
