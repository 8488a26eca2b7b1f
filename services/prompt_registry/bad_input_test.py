"""Bad requests: each gets a canonical code and a message that says what to change, and none of
them changes anything stored."""

from __future__ import annotations

import pytest

from llmops.v1 import common_pb2
from llmops.v1 import prompt_registry_pb2 as pb
from llmops_core.errors import FailedPreconditionError, InvalidArgumentError, NotFoundError
from llmops_core.testing import redis_snapshot
from prompt_registry.testing import chat, prompt_with_versions, text

_NAME = "bad/input"  # created by the test with versions 1 and 2, production -> 1, staging -> 2


def _create(content=None, name=_NAME, **fields):
    return "CreatePromptVersion", pb.CreatePromptVersionRequest(
        name=name, content=content or text("fine"), **fields
    )


def _sampling(**fields) -> pb.PromptContent:
    content = text("Hi")
    content.model_config.sampling.CopyFrom(common_pb2.SamplingParams(**fields))
    return content


BAD_REQUESTS = [
    # Names.
    (*_create(name="Bad Name!"), InvalidArgumentError, "not a valid name"),
    (*_create(name=""), InvalidArgumentError, "name is empty"),
    (*_create(name="a//b"), InvalidArgumentError, "not a valid name"),
    (*_create(name="folder/"), InvalidArgumentError, "not a valid name"),
    (*_create(name="x" * 201), InvalidArgumentError, "at most 200 characters"),
    # Templates.
    (*_create(text("   ")), InvalidArgumentError, "content.template is empty"),
    (*_create(text("x" * 100_001)), InvalidArgumentError, "the limit is 100000"),
    (*_create(text("Hi {{ name ", "name")), InvalidArgumentError, "never closed"),
    (*_create(text("Hi name }}")), InvalidArgumentError, "without a matching"),
    (*_create(text("Hi {{ 1x }}")), InvalidArgumentError, "is not a variable"),
    (*_create(text("Hi {{}}")), InvalidArgumentError, "is not a variable"),
    (*_create(text("Hi {{ a b }}")), InvalidArgumentError, "is not a variable"),
    (*_create(text("Hi {{name}}")), InvalidArgumentError, "undeclared variable.*name"),
    (*_create(text("Hi", "name")), InvalidArgumentError, "declared but the template never"),
    (*_create(text("{{a}}", "a", "a")), InvalidArgumentError, "declared twice"),
    (*_create(text("{{a}}", "a", "b-c")), InvalidArgumentError, "'b-c' is not a valid name"),
    (*_create(pb.PromptContent()), InvalidArgumentError, "text or chat"),
    (
        *_create(pb.PromptContent(type=pb.PROMPT_TYPE_CHAT)),
        InvalidArgumentError,
        "at least one message",
    ),
    (
        *_create(
            pb.PromptContent(
                type=pb.PROMPT_TYPE_TEXT,
                template="x",
                messages=[common_pb2.ChatMessage(role="user", content="x")],
            )
        ),
        InvalidArgumentError,
        "a text prompt has a template, not messages",
    ),
    (
        *_create(
            pb.PromptContent(
                type=pb.PROMPT_TYPE_CHAT,
                messages=[common_pb2.ChatMessage(role="robot", content="x")],
            )
        ),
        InvalidArgumentError,
        "use one of system, user, assistant",
    ),
    (
        *_create(
            pb.PromptContent(
                type=pb.PROMPT_TYPE_CHAT,
                messages=[common_pb2.ChatMessage(role="user", content="{{q}")],
            )
        ),
        InvalidArgumentError,
        r"messages\[0\] line 1 column 1",
    ),
    # Model config.
    (*_create(_sampling(temperature=3)), InvalidArgumentError, "between 0.0 and 2.0"),
    (*_create(_sampling(top_p=1.5)), InvalidArgumentError, "top_p is 1.5"),
    (*_create(_sampling(max_tokens=-1)), InvalidArgumentError, "at least 0"),
    (*_create(_sampling(stop=[""])), InvalidArgumentError, "1 to 200 characters"),
    (*_create(_sampling(stop=["s"] * 17)), InvalidArgumentError, "the limit is 16"),
    # Tags and audit fields.
    (*_create(tags=[f"t{i}" for i in range(33)]), InvalidArgumentError, "the limit is 32"),
    (*_create(tags=[" padded"]), InvalidArgumentError, "tag ' padded' is not valid"),
    (*_create(commit_message="m" * 2001), InvalidArgumentError, "limit is 2000"),
    # Versions.
    (
        "GetPromptVersion",
        pb.GetPromptVersionRequest(name=_NAME, version=-1),
        InvalidArgumentError,
        "versions start at 1",
    ),
    (
        "GetPromptVersion",
        pb.GetPromptVersionRequest(name=_NAME, version=9),
        NotFoundError,
        "no version 9; its versions are 1 to 2",
    ),
    (
        "GetPromptVersion",
        pb.GetPromptVersionRequest(name="bad/missing"),
        NotFoundError,
        "'bad/missing' does not exist",
    ),
    (
        "DiffPromptVersions",
        pb.DiffPromptVersionsRequest(name=_NAME, from_version=0, to_version=1),
        InvalidArgumentError,
        "from_version is 0",
    ),
    # Labels.
    (
        "SetLabel",
        pb.SetLabelRequest(name=_NAME, label="latest", version=1),
        InvalidArgumentError,
        "maintained automatically",
    ),
    (
        "SetLabel",
        pb.SetLabelRequest(name=_NAME, label="Prod", version=1),
        InvalidArgumentError,
        "not a valid label name",
    ),
    (
        "SetLabel",
        pb.SetLabelRequest(name=_NAME, label="production", version=0),
        InvalidArgumentError,
        "version is 0",
    ),
    (
        "SetLabel",
        pb.SetLabelRequest(name=_NAME, label="production", version=5),
        NotFoundError,
        "no version 5",
    ),
    (
        "SetLabel",
        pb.SetLabelRequest(name="bad/missing", label="production", version=1),
        NotFoundError,
        "does not exist",
    ),
    (
        "SetLabel",
        pb.SetLabelRequest(name=_NAME, label="production", version=2, expected_version=2),
        FailedPreconditionError,
        "points at version 1, not version 2 as expected; re-read it and retry with "
        "expected_version=1",
    ),
    (
        "SetLabel",
        pb.SetLabelRequest(name=_NAME, label="production", version=2, expected_version=0),
        FailedPreconditionError,
        "points at version 1",
    ),
    (
        "SetLabel",
        pb.SetLabelRequest(name=_NAME, label="canary", version=2, expected_version=1),
        FailedPreconditionError,
        "does not exist yet",
    ),
    (
        "SetLabel",
        pb.SetLabelRequest(name=_NAME, label="production", version=2, expected_version=-1),
        InvalidArgumentError,
        "expected_version is -1",
    ),
    (
        "SetLabel",
        pb.SetLabelRequest(name=_NAME, label="production", version=2, reason="r" * 2001),
        InvalidArgumentError,
        "reason has 2001 characters",
    ),
    (
        "SetLabelSplit",
        pb.SetLabelSplitRequest(
            name=_NAME, label="production", splits=[pb.LabelSplit(version=2, weight=0)]
        ),
        InvalidArgumentError,
        "weights are whole numbers",
    ),
    (
        "SetLabelSplit",
        pb.SetLabelSplitRequest(
            name=_NAME,
            label="production",
            splits=[pb.LabelSplit(version=1, weight=5), pb.LabelSplit(version=8, weight=5)],
        ),
        NotFoundError,
        "no version 8",
    ),
    (
        "RollbackLabel",
        pb.RollbackLabelRequest(name=_NAME, label="production"),
        NotFoundError,
        "no earlier version",
    ),
    (
        "RollbackLabel",
        pb.RollbackLabelRequest(name=_NAME, label="production", version=1, expected_version=2),
        FailedPreconditionError,
        "points at version 1",
    ),
    (
        "DeleteLabel",
        pb.DeleteLabelRequest(name=_NAME, label="latest"),
        InvalidArgumentError,
        "maintained automatically",
    ),
    (
        "DeleteLabel",
        pb.DeleteLabelRequest(name=_NAME, label="staging", expected_version=1),
        FailedPreconditionError,
        "points at version 2",
    ),
    (
        "ProtectLabel",
        pb.ProtectLabelRequest(name="bad/missing", label="production", protected=True),
        NotFoundError,
        "does not exist",
    ),
    (
        "SetPromotionGate",
        pb.SetPromotionGateRequest(name=_NAME, label="production", gate=pb.PromotionGate()),
        InvalidArgumentError,
        "gates nothing",
    ),
    (
        "DeletePrompt",
        pb.DeletePromptRequest(name="bad/missing"),
        NotFoundError,
        "does not exist",
    ),
    # Resolving: a missing label is NOT_FOUND, never another label's version.
    (
        "ResolvePrompt",
        pb.ResolvePromptRequest(name=_NAME, label="canary"),
        NotFoundError,
        r"no label 'canary' \(its labels: latest, production, staging\)",
    ),
    (
        "ResolvePrompt",
        pb.ResolvePromptRequest(name=_NAME, version=3),
        NotFoundError,
        "no version 3",
    ),
    (
        "ResolvePrompt",
        pb.ResolvePromptRequest(name=_NAME, label="No Such"),
        InvalidArgumentError,
        "not a valid label name",
    ),
    (
        "ResolvePrompt",
        pb.ResolvePromptRequest(name=_NAME, version=-2),
        InvalidArgumentError,
        "versions start at 1",
    ),
    (
        "ResolvePrompt",
        pb.ResolvePromptRequest(name="bad/missing"),
        NotFoundError,
        "does not exist",
    ),
    (
        "RenderPrompt",
        pb.RenderPromptRequest(name=_NAME, label="staging"),
        InvalidArgumentError,
        r"missing value for variable\(s\): who",
    ),
    # Pages.
    *[
        (rpc, request, InvalidArgumentError, "page_token is not a token this server issued")
        for rpc, request in [
            ("ListPrompts", pb.ListPromptsRequest(page_token="bm9wZQ")),
            ("ListPromptVersions", pb.ListPromptVersionsRequest(name=_NAME, page_token="x")),
            (
                "ListLabelHistory",
                pb.ListLabelHistoryRequest(name=_NAME, label="production", page_token="e30"),
            ),
            ("ListAuditEvents", pb.ListAuditEventsRequest(page_token="!")),
        ]
    ],
    ("ListPrompts", pb.ListPromptsRequest(page_size=-1), InvalidArgumentError, "page_size is -1"),
    ("ImportPrompts", pb.ImportPromptsRequest(), InvalidArgumentError, "at least one prompt spec"),
]


@pytest.mark.parametrize(
    ("rpc", "request_", "error", "message"),
    BAD_REQUESTS,
    ids=[f"{index}-{case[0]}" for index, case in enumerate(BAD_REQUESTS)],
)
async def test_a_bad_request_fails_with_an_actionable_message_and_changes_nothing(
    client, redis_url, rpc, request_, error, message
):
    await _prepare(client)
    before = await redis_snapshot(redis_url)
    with pytest.raises(error, match=message) as caught:
        await getattr(client.rpc, rpc)(request_)
    assert type(caught.value) is error
    assert caught.value.reason not in ("", "INTERNAL", "UNKNOWN")
    assert await redis_snapshot(redis_url) == before


async def _prepare(client) -> None:
    """The prompt the cases refer to, made once per Redis (the cases change nothing)."""
    try:
        await client.rpc.ListLabels(pb.ListLabelsRequest(name=_NAME))
        return
    except NotFoundError:
        pass
    await client.rpc.CreatePromptVersion(pb.CreatePromptVersionRequest(name=_NAME, content=chat()))
    await client.rpc.CreatePromptVersion(
        pb.CreatePromptVersionRequest(name=_NAME, content=text("Hello {{who}}", "who"))
    )
    await client.rpc.SetLabel(pb.SetLabelRequest(name=_NAME, label="production", version=1))
    await client.rpc.SetLabel(pb.SetLabelRequest(name=_NAME, label="staging", version=2))


async def test_unknown_labels_never_fall_back_even_to_latest(client):
    name = await prompt_with_versions(client, 2)
    with pytest.raises(NotFoundError, match="no label 'production'"):
        await client.rpc.ResolvePrompt(pb.ResolvePromptRequest(name=name))
    with pytest.raises(NotFoundError, match="no label 'production'"):
        await client.rpc.RenderPrompt(pb.RenderPromptRequest(name=name))
