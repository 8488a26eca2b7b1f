"""Policies as code: push policy files into the guardrails service, export policies into files.

Push is idempotent: the service maps content a version already has to that version, and
a file's labels move only when they point elsewhere. So pushing the same files twice
changes nothing, and ``export`` then ``push`` is a round trip onto the same versions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from llmops.v1 import guardrails_pb2 as pb
from llmops_cli import _as_code
from llmops_cli._as_code import AUTOMATIC_LABELS, Exported, status
from llmops_core.errors import LlmopsError, NotFoundError
from llmops_sdk import GuardrailsClient, all_pages
from llmops_sdk.policy_files import (
    SUFFIX,
    PolicyFile,
    load_policy_file,
    policy_file_path,
    write_policy_file,
)


@dataclass(frozen=True)
class Pushed:
    """What pushing one file did."""

    path: Path
    name: str
    version: int = 0
    created: bool = False
    labels_moved: tuple[str, ...] = ()
    error: str = ""

    @property
    def status(self) -> str:
        return status(error=self.error, created=self.created)


def load_files(paths: Sequence[Path]) -> list[PolicyFile]:
    """Parse every file before anything is pushed: one bad file changes nothing."""
    return _as_code.load_files(
        paths,
        kind="policy",
        suffix=SUFFIX,
        load=load_policy_file,
        name_of=lambda loaded: loaded.policy.name,
        labels_of=lambda loaded: loaded.labels,
    )


async def push(
    client: GuardrailsClient,
    files: Sequence[PolicyFile],
    *,
    labels: Sequence[str] = (),
    author: str,
    allow_protected: bool = False,
    progress: Callable[[int, Pushed], None] | None = None,
) -> list[Pushed]:
    """Apply the files in order; a file's failure does not stop the rest.

    ``labels`` are pointed at every file's version, besides the labels the file lists;
    ``author`` is recorded where a file names none.
    """

    async def push_one(loaded: PolicyFile) -> Pushed:
        try:
            return await _push_one(client, loaded, labels, author, allow_protected)
        except LlmopsError as exc:
            return Pushed(loaded.path, loaded.policy.name, error=f"{exc} ({exc.reason})")

    return await _as_code.push_each(files, push_one, progress)


async def _push_one(
    client: GuardrailsClient,
    loaded: PolicyFile,
    labels: Sequence[str],
    author: str,
    allow_protected: bool,
) -> Pushed:
    policy = pb.Policy()
    policy.CopyFrom(loaded.policy)
    policy.author = policy.author or author
    response = await client.rpc.CreatePolicyVersion(pb.CreatePolicyVersionRequest(policy=policy))
    version = response.policy.version
    wanted = list(dict.fromkeys([*loaded.labels, *labels]))
    current = await client.rpc.ListPolicyLabels(pb.ListPolicyLabelsRequest(name=policy.name))
    where = {label.name: label.version for label in current.labels}
    moved = []
    for label in wanted:
        if where.get(label) == version:
            continue
        await client.rpc.SetPolicyLabel(
            pb.SetPolicyLabelRequest(
                name=policy.name,
                label=label,
                version=version,
                allow_protected=allow_protected,
                author=policy.author,
                reason=f"pushed from {loaded.path.name}",
            )
        )
        moved.append(label)
    return Pushed(loaded.path, policy.name, version, response.created, tuple(moved))


async def export(
    client: GuardrailsClient, out_dir: Path, names: Sequence[str] = (), *, label: str = ""
) -> list[Exported]:
    """Write one file per policy under ``out_dir``: the newest version, or ``label``'s.

    ``names``: the policies to export; none: every policy (those without ``label`` are
    left out when a label is given).
    """
    if not names:
        policies = await all_pages(client.rpc.ListPolicies, pb.ListPoliciesRequest(), "policies")
        names = [policy.name for policy in policies]
        chosen = [await _version(client, name, label, required=False) for name in names]
    else:
        chosen = [await _version(client, name, label, required=True) for name in names]
    exported = []
    for policy in chosen:
        if policy is None:
            continue
        labels = tuple(lb for lb in policy.labels if lb not in AUTOMATIC_LABELS)
        path = policy_file_path(out_dir, policy.name)
        write_policy_file(path, policy, labels)
        exported.append(Exported(path, policy.name, policy.version, labels))
    return exported


async def _version(
    client: GuardrailsClient, name: str, label: str, *, required: bool
) -> pb.Policy | None:
    version = 0
    if label:
        response = await client.rpc.ListPolicyLabels(pb.ListPolicyLabelsRequest(name=name))
        version = next((lb.version for lb in response.labels if lb.name == label), 0)
        if not version:
            if required:
                raise NotFoundError(
                    f"policy '{name}' has no label '{label}'; `llmops policy labels {name}` "
                    "lists its labels",
                    reason="LABEL_NOT_FOUND",
                )
            return None
    response = await client.rpc.GetPolicy(pb.GetPolicyRequest(name=name, version=version))
    return response.policy
