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
from llmops_core.errors import InvalidArgumentError, LlmopsError, NotFoundError
from llmops_sdk import GuardrailsClient, all_pages
from llmops_sdk.policy_files import (
    SUFFIX,
    PolicyFile,
    load_policy_file,
    policy_file_path,
    write_policy_file,
)

# Moved by the service itself on every new version; a file may not name it.
AUTOMATIC_LABELS = ("latest",)


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
        if self.error:
            return "failed"
        return "created" if self.created else "unchanged"


@dataclass(frozen=True)
class Exported:
    path: Path
    name: str
    version: int
    labels: tuple[str, ...] = ()


def load_files(paths: Sequence[Path]) -> list[PolicyFile]:
    """Parse every file before anything is pushed: one bad file changes nothing.

    A folder stands for every ``*.yaml`` file under it, as ``export`` lays them out.
    """
    expanded: list[Path] = []
    for path in map(Path, paths):
        expanded += sorted(path.rglob(f"*{SUFFIX}")) if path.is_dir() else [path]
    if not expanded:
        raise InvalidArgumentError(f"no *{SUFFIX} policy files in {', '.join(map(str, paths))}")
    files = [load_policy_file(p) for p in expanded]
    seen: dict[str, Path] = {}
    for loaded in files:
        first = seen.setdefault(loaded.policy.name, loaded.path)
        if first != loaded.path:
            raise InvalidArgumentError(
                f"{first} and {loaded.path} both declare policy '{loaded.policy.name}'; "
                "keep one file per policy"
            )
        automatic = [lb for lb in loaded.labels if lb in AUTOMATIC_LABELS]
        if automatic:
            raise InvalidArgumentError(
                f"{loaded.path}: label '{automatic[0]}' moves by itself; leave it out of labels"
            )
    return files


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
    pushed = []
    for index, loaded in enumerate(files, start=1):
        try:
            item = await _push_one(client, loaded, labels, author, allow_protected)
        except LlmopsError as exc:
            item = Pushed(loaded.path, loaded.policy.name, error=f"{exc} ({exc.reason})")
        pushed.append(item)
        if progress:
            progress(index, item)
    return pushed


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
