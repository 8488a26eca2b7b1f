"""Labels over a real socket: protection, rollback, history, deletion, splits, promotion gates."""

from __future__ import annotations

import asyncio
import collections

import pytest

from llmops.v1 import prompt_registry_pb2 as pb
from llmops_core.errors import (
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    UnavailableError,
)
from llmops_core.testing import serving
from llmops_sdk import PromptRegistryClient
from monitoring.main import create_server as create_monitoring_server
from prompt_registry.main import create_server
from prompt_registry.testing import prompt_with_versions


async def _set(client, name, label, version, **fields):
    response = await client.rpc.SetLabel(
        pb.SetLabelRequest(name=name, label=label, version=version, **fields)
    )
    return response.label


async def _resolve(client, name, label="production", **fields) -> pb.ResolvePromptResponse:
    return await client.rpc.ResolvePrompt(pb.ResolvePromptRequest(name=name, label=label, **fields))


async def test_a_protected_label_moves_only_with_allow_protected(client):
    name = await prompt_with_versions(client, 2)
    await _set(client, name, "production", 1)
    protected = await client.rpc.ProtectLabel(
        pb.ProtectLabelRequest(name=name, label="production", protected=True, author="ops")
    )
    assert protected.label.protected
    attempts = [
        client.rpc.SetLabel(pb.SetLabelRequest(name=name, label="production", version=2)),
        client.rpc.SetLabelSplit(
            pb.SetLabelSplitRequest(
                name=name, label="production", splits=[pb.LabelSplit(version=2, weight=1)]
            )
        ),
        client.rpc.RollbackLabel(pb.RollbackLabelRequest(name=name, label="production", version=2)),
        client.rpc.DeleteLabel(pb.DeleteLabelRequest(name=name, label="production")),
        client.rpc.SetPromotionGate(
            pb.SetPromotionGateRequest(
                name=name, label="production", gate=pb.PromotionGate(require_evaluation=True)
            )
        ),
    ]
    for attempt in attempts:
        with pytest.raises(FailedPreconditionError, match="protected; set allow_protected") as err:
            await attempt
        assert err.value.reason == "LABEL_PROTECTED"
    assert (await _resolve(client, name)).version.version == 1
    moved = await _set(client, name, "production", 2, allow_protected=True)
    assert (moved.version, moved.protected) == (2, True)  # a move keeps the protection
    lifted = await client.rpc.ProtectLabel(
        pb.ProtectLabelRequest(name=name, label="production", protected=False)
    )
    assert not lifted.label.protected
    assert (await _set(client, name, "production", 1)).version == 1
    with pytest.raises(InvalidArgumentError, match="maintained automatically"):
        await client.rpc.ProtectLabel(pb.ProtectLabelRequest(name=name, label="latest"))
    with pytest.raises(NotFoundError, match="no label 'staging'"):
        await client.rpc.ProtectLabel(pb.ProtectLabelRequest(name=name, label="staging"))


async def test_rollback_walks_back_through_moves_and_is_audited(client):
    name = await prompt_with_versions(client, 4)
    for version in (1, 2, 3):
        await _set(client, name, "production", version)
    first = await client.rpc.RollbackLabel(
        pb.RollbackLabelRequest(name=name, label="production", author="alert:error-rate")
    )
    assert (first.label.version, first.previous_version) == (2, 3)
    # A second rollback goes one move further back, not back to the version it fled.
    second = await client.rpc.RollbackLabel(pb.RollbackLabelRequest(name=name, label="production"))
    assert (second.label.version, second.previous_version) == (1, 2)
    with pytest.raises(NotFoundError, match="no earlier version"):
        await client.rpc.RollbackLabel(pb.RollbackLabelRequest(name=name, label="production"))
    assert (await _resolve(client, name)).version.version == 1
    # A move after rollbacks is the new top of the stack.
    await _set(client, name, "production", 4)
    back = await client.rpc.RollbackLabel(pb.RollbackLabelRequest(name=name, label="production"))
    assert back.label.version == 1
    explicit = await client.rpc.RollbackLabel(
        pb.RollbackLabelRequest(name=name, label="production", version=3, expected_version=1)
    )
    assert (explicit.label.version, explicit.previous_version) == (3, 1)
    with pytest.raises(FailedPreconditionError, match="points at version 3, not version 1"):
        await client.rpc.RollbackLabel(
            pb.RollbackLabelRequest(name=name, label="production", version=2, expected_version=1)
        )
    with pytest.raises(NotFoundError, match="no version 9"):
        await client.rpc.RollbackLabel(
            pb.RollbackLabelRequest(name=name, label="production", version=9)
        )
    with pytest.raises(NotFoundError, match="no label 'canary'"):
        await client.rpc.RollbackLabel(pb.RollbackLabelRequest(name=name, label="canary"))
    audit = await client.rpc.ListAuditEvents(
        pb.ListAuditEventsRequest(prompt_name=name, types=[pb.PROMPT_EVENT_TYPE_LABEL_ROLLED_BACK])
    )
    assert [(e.version, e.previous_version) for e in audit.events] == [
        (3, 1),
        (1, 4),
        (1, 2),
        (2, 3),
    ]
    assert audit.events[-1].author == "alert:error-rate"


async def test_rollback_of_a_split_restores_the_single_version(client):
    name = await prompt_with_versions(client, 2)
    await _set(client, name, "production", 1)
    await client.rpc.SetLabelSplit(
        pb.SetLabelSplitRequest(
            name=name,
            label="production",
            splits=[pb.LabelSplit(version=1, weight=90), pb.LabelSplit(version=2, weight=10)],
        )
    )
    rolled = await client.rpc.RollbackLabel(pb.RollbackLabelRequest(name=name, label="production"))
    assert (rolled.label.version, list(rolled.label.splits)) == (1, [])
    assert rolled.previous_version == 1  # the split's control version


async def test_label_history_lists_every_change_of_one_label_newest_first(client):
    name = await prompt_with_versions(client, 3)
    await _set(client, name, "production", 1, author="ana", reason="first release")
    await _set(client, name, "staging", 2)
    await client.rpc.SetLabelSplit(
        pb.SetLabelSplitRequest(
            name=name,
            label="production",
            splits=[pb.LabelSplit(version=1, weight=3), pb.LabelSplit(version=3, weight=1)],
        )
    )
    await client.rpc.RollbackLabel(pb.RollbackLabelRequest(name=name, label="production"))
    await client.rpc.ProtectLabel(
        pb.ProtectLabelRequest(name=name, label="production", protected=True)
    )
    await client.rpc.SetPromotionGate(
        pb.SetPromotionGateRequest(
            name=name,
            label="production",
            gate=pb.PromotionGate(require_evaluation=True),
            allow_protected=True,
        )
    )
    await client.rpc.DeleteLabel(
        pb.DeleteLabelRequest(name=name, label="production", allow_protected=True)
    )
    types, token, pages = [], "", 0
    while True:
        page = await client.rpc.ListLabelHistory(
            pb.ListLabelHistoryRequest(name=name, label="production", page_size=2, page_token=token)
        )
        types += [event.type for event in page.events]
        pages += 1
        token = page.next_page_token
        if not token:
            break
    assert types == [
        pb.PROMPT_EVENT_TYPE_LABEL_DELETED,
        pb.PROMPT_EVENT_TYPE_PROMOTION_GATE_CHANGED,
        pb.PROMPT_EVENT_TYPE_LABEL_PROTECTION_CHANGED,
        pb.PROMPT_EVENT_TYPE_LABEL_ROLLED_BACK,
        pb.PROMPT_EVENT_TYPE_LABEL_SPLIT,
        pb.PROMPT_EVENT_TYPE_LABEL_SET,
    ]
    assert pages == 3
    history = await client.rpc.ListLabelHistory(
        pb.ListLabelHistoryRequest(name=name, label="production")
    )
    split, first = history.events[4], history.events[5]
    assert [(arm.version, arm.weight) for arm in split.splits] == [(1, 3), (3, 1)]
    assert (first.version, first.previous_version, first.author, first.reason) == (
        1,
        0,
        "ana",
        "first release",
    )
    assert history.events[0].previous_version == 1 and history.events[0].version == 0
    assert history.events[2].protected
    latest = await client.rpc.ListLabelHistory(
        pb.ListLabelHistoryRequest(name=name, label="latest")
    )
    assert [event.version for event in latest.events] == [3, 2, 1]
    with pytest.raises(NotFoundError, match="never had one"):
        await client.rpc.ListLabelHistory(pb.ListLabelHistoryRequest(name=name, label="nope"))


async def test_list_and_delete_labels(client):
    name = await prompt_with_versions(client, 2)
    await _set(client, name, "staging", 2)
    await _set(client, name, "production", 1)
    await _set(client, name, "a-team", 1)
    labels = (await client.rpc.ListLabels(pb.ListLabelsRequest(name=name))).labels
    assert [(label.name, label.version) for label in labels] == [
        ("a-team", 1),
        ("latest", 2),
        ("production", 1),
        ("staging", 2),
    ]
    with pytest.raises(FailedPreconditionError, match="points at version 2"):
        await client.rpc.DeleteLabel(
            pb.DeleteLabelRequest(name=name, label="staging", expected_version=1)
        )
    await client.rpc.DeleteLabel(
        pb.DeleteLabelRequest(name=name, label="staging", expected_version=2)
    )
    with pytest.raises(NotFoundError, match="no label 'staging'"):
        await _resolve(client, name, "staging")
    with pytest.raises(NotFoundError, match="no label 'staging'"):
        await client.rpc.DeleteLabel(pb.DeleteLabelRequest(name=name, label="staging"))
    with pytest.raises(InvalidArgumentError, match="maintained automatically"):
        await client.rpc.DeleteLabel(pb.DeleteLabelRequest(name=name, label="latest"))
    with pytest.raises(NotFoundError, match="does not exist"):
        await client.rpc.ListLabels(pb.ListLabelsRequest(name="nope/missing"))


async def test_a_split_sticks_each_key_to_one_version_and_follows_the_weights(client):
    name = await prompt_with_versions(client, 4)
    await _set(client, name, "production", 3)
    split = await client.rpc.SetLabelSplit(
        pb.SetLabelSplitRequest(
            name=name,
            label="production",
            splits=[pb.LabelSplit(version=3, weight=90), pb.LabelSplit(version=4, weight=10)],
            expected_version=3,
            reason="canary",
        )
    )
    assert split.label.version == 3  # the control: the arm with the largest weight
    assert [(arm.version, arm.weight) for arm in split.label.splits] == [(3, 90), (4, 10)]
    for key in ("user-1", "user-2", "session-xyz"):
        picks = {(await _resolve(client, name, sticky_key=key)).version.version for _ in range(20)}
        assert len(picks) == 1
    keyed = await asyncio.gather(
        *(_resolve(client, name, sticky_key=f"user-{index}") for index in range(1000))
    )
    assert {resolved.label for resolved in keyed} == {"production"}
    by_key = collections.Counter(resolved.version.version for resolved in keyed)
    assert 50 <= by_key[4] <= 150, by_key  # 10% of 1000, with a wide margin
    drawn = collections.Counter(
        resolved.version.version
        for resolved in await asyncio.gather(*(_resolve(client, name) for _ in range(1000)))
    )
    assert 50 <= drawn[4] <= 150, drawn
    rendered = await client.rpc.RenderPrompt(
        pb.RenderPromptRequest(name=name, label="production", sticky_key="user-7")
    )
    sticky = await _resolve(client, name, sticky_key="user-7")
    assert rendered.version.version == sticky.version.version
    assert rendered.text == f"v{sticky.version.version}"
    assert rendered.label == "production"
    # Both arms count as labels of their versions.
    for version in (3, 4):
        got = await client.rpc.GetPromptVersion(
            pb.GetPromptVersionRequest(name=name, version=version)
        )
        assert "production" in got.version.labels


async def test_raising_the_canary_weight_only_moves_keys_to_the_canary(client):
    name = await prompt_with_versions(client, 2)

    async def picks(canary_weight: int) -> dict[str, int]:
        await client.rpc.SetLabelSplit(
            pb.SetLabelSplitRequest(
                name=name,
                label="production",
                splits=[
                    pb.LabelSplit(version=1, weight=100 - canary_weight),
                    pb.LabelSplit(version=2, weight=canary_weight),
                ],
            )
        )
        keys = [f"k{index}" for index in range(300)]
        resolved = await asyncio.gather(*(_resolve(client, name, sticky_key=k) for k in keys))
        return {key: r.version.version for key, r in zip(keys, resolved, strict=True)}

    small, large = await picks(10), await picks(40)
    assert all(large[key] == 2 for key, version in small.items() if version == 2)
    assert sum(version == 2 for version in large.values()) > sum(
        version == 2 for version in small.values()
    )


async def test_set_label_replaces_a_split(client):
    name = await prompt_with_versions(client, 2)
    await client.rpc.SetLabelSplit(
        pb.SetLabelSplitRequest(
            name=name,
            label="production",
            splits=[pb.LabelSplit(version=1, weight=1), pb.LabelSplit(version=2, weight=1)],
        )
    )
    label = await _set(client, name, "production", 2, expected_version=1)
    assert (label.version, list(label.splits)) == (2, [])
    assert {(await _resolve(client, name)).version.version for _ in range(30)} == {2}


async def test_bad_splits_are_invalid_and_change_nothing(client):
    name = await prompt_with_versions(client, 2)
    await _set(client, name, "production", 1)
    cases = [
        ([], "at least one arm"),
        ([pb.LabelSplit(version=1, weight=0)], "weights are whole numbers from 1"),
        ([pb.LabelSplit(version=1, weight=-5)], "weights are whole numbers from 1"),
        ([pb.LabelSplit(version=1, weight=1), pb.LabelSplit(version=1, weight=2)], "twice"),
        ([pb.LabelSplit(version=0, weight=1)], "version is 0"),
        ([pb.LabelSplit(version=v, weight=1) for v in range(1, 13)], "at most 10"),
    ]
    for splits, message in cases:
        with pytest.raises(InvalidArgumentError, match=message):
            await client.rpc.SetLabelSplit(
                pb.SetLabelSplitRequest(name=name, label="production", splits=splits)
            )
    with pytest.raises(NotFoundError, match="no version 7"):
        await client.rpc.SetLabelSplit(
            pb.SetLabelSplitRequest(
                name=name,
                label="production",
                splits=[pb.LabelSplit(version=1, weight=1), pb.LabelSplit(version=7, weight=1)],
            )
        )
    with pytest.raises(FailedPreconditionError, match="points at version 1, not version 2"):
        await client.rpc.SetLabelSplit(
            pb.SetLabelSplitRequest(
                name=name,
                label="production",
                splits=[pb.LabelSplit(version=2, weight=1)],
                expected_version=2,
            )
        )
    label = (await client.rpc.ListLabels(pb.ListLabelsRequest(name=name))).labels[1]
    assert (label.name, label.version, list(label.splits)) == ("production", 1, [])


async def test_a_gated_label_needs_an_evaluation_run_that_cannot_be_checked_yet(settings):
    async with serving(create_monitoring_server(settings)) as monitoring_address:
        port = int(monitoring_address.rsplit(":", 1)[1])
        wired = settings.model_copy(
            update={"monitoring": settings.monitoring.model_copy(update={"port": port})}
        )
        async with (
            serving(create_server(wired)) as address,
            PromptRegistryClient(address) as client,
        ):
            name = await prompt_with_versions(client, 2)
            await _set(client, name, "production", 1)
            with pytest.raises(InvalidArgumentError, match="gates nothing"):
                await client.rpc.SetPromotionGate(
                    pb.SetPromotionGateRequest(
                        name=name, label="production", gate=pb.PromotionGate()
                    )
                )
            with pytest.raises(InvalidArgumentError, match="needs gate.metric"):
                await client.rpc.SetPromotionGate(
                    pb.SetPromotionGateRequest(
                        name=name,
                        label="production",
                        gate=pb.PromotionGate(require_evaluation=True, min_score=0.8),
                    )
                )
            gate = pb.PromotionGate(
                require_evaluation=True, metric="accuracy", min_score=0.8, dataset="golden"
            )
            gated = await client.rpc.SetPromotionGate(
                pb.SetPromotionGateRequest(name=name, label="production", gate=gate)
            )
            assert gated.label.promotion_gate == gate
            with pytest.raises(FailedPreconditionError, match="evaluation_run_id") as err:
                await _set(client, name, "production", 2)
            assert err.value.reason == "PROMOTION_GATE_NOT_MET"
            with pytest.raises(FailedPreconditionError, match="not available yet"):
                await _set(client, name, "production", 2, evaluation_run_id="run-1")
            with pytest.raises(FailedPreconditionError, match="evaluation_run_id"):
                await client.rpc.SetLabelSplit(
                    pb.SetLabelSplitRequest(
                        name=name,
                        label="production",
                        splits=[
                            pb.LabelSplit(version=1, weight=9),
                            pb.LabelSplit(version=2, weight=1),
                        ],
                    )
                )
            # The versions the label holds need no run; rollbacks pass gates.
            assert (await _set(client, name, "production", 1)).version == 1
            assert (await _resolve(client, name)).version.version == 1
            ungated = await client.rpc.SetPromotionGate(
                pb.SetPromotionGateRequest(name=name, label="production")
            )
            assert not ungated.label.HasField("promotion_gate")
            assert (await _set(client, name, "production", 2)).version == 2
            rolled = await client.rpc.RollbackLabel(
                pb.RollbackLabelRequest(name=name, label="production")
            )
            assert rolled.label.version == 1


async def test_a_gated_move_with_the_monitoring_service_down_is_unavailable(client):
    name = await prompt_with_versions(client, 2)
    await _set(client, name, "production", 1)
    await client.rpc.SetPromotionGate(
        pb.SetPromotionGateRequest(
            name=name, label="production", gate=pb.PromotionGate(require_evaluation=True)
        )
    )
    with pytest.raises(UnavailableError):
        await _set(client, name, "production", 2, evaluation_run_id="run-1")
    assert (await _resolve(client, name)).version.version == 1
