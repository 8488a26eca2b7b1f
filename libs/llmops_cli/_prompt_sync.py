"""Prompts as code: push prompt files into the registry, export prompts back into files.

Push applies each file with ImportPrompts, which the registry makes idempotent: content a
version already has maps to that version, and a label moves only when it points
elsewhere. So pushing the same files twice changes nothing, and ``export`` then ``push``
is a round trip onto the same versions. A file cannot express a split: export leaves
split labels out of the files (a label a file names ends up plain, on the file's version).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from llmops.v1 import prompt_registry_pb2 as pb
from llmops_cli import _as_code
from llmops_cli._as_code import AUTOMATIC_LABELS, Exported, status
from llmops_core.errors import NotFoundError
from llmops_sdk import PromptRegistryClient
from llmops_sdk.prompt_files import (
    SUFFIX,
    PromptFile,
    load_prompt_file,
    prompt_file_path,
    write_prompt_file,
)


@dataclass(frozen=True)
class Pushed:
    """What pushing one file did: the registry's import result for it."""

    path: Path
    result: pb.PromptImportResult

    @property
    def name(self) -> str:
        return self.result.name

    @property
    def version(self) -> int:
        return self.result.version.version

    @property
    def labels_moved(self) -> tuple[str, ...]:
        return tuple(self.result.labels_moved)

    @property
    def error(self) -> str:
        return self.result.error

    @property
    def status(self) -> str:
        return status(error=self.result.error, created=self.result.created)


def load_files(paths: Sequence[Path]) -> list[PromptFile]:
    """Parse every file before anything is pushed: one bad file changes nothing."""
    return _as_code.load_files(
        paths,
        kind="prompt",
        suffix=SUFFIX,
        load=load_prompt_file,
        name_of=lambda loaded: loaded.spec.name,
        labels_of=lambda loaded: loaded.spec.labels,
    )


async def push(
    client: PromptRegistryClient,
    files: Sequence[PromptFile],
    *,
    labels: Sequence[str] = (),
    author: str,
    dry_run: bool = False,
    allow_protected: bool = False,
    progress: Callable[[int, Pushed], None] | None = None,
) -> list[Pushed]:
    """Apply the files in order, one ImportPrompts call each; a file's failure does not stop the rest.

    ``labels`` are pointed at every file's version, besides the labels the file lists;
    ``author`` is recorded where a file names none.
    """

    async def push_one(loaded: PromptFile) -> Pushed:
        spec = pb.PromptSpec()
        spec.CopyFrom(loaded.spec)
        spec.labels.extend(lb for lb in labels if lb not in spec.labels)
        response = await client.rpc.ImportPrompts(
            pb.ImportPromptsRequest(
                prompts=[spec],
                author=loaded.author or author,
                dry_run=dry_run,
                allow_protected=allow_protected,
            )
        )
        return Pushed(loaded.path, response.results[0])

    return await _as_code.push_each(files, push_one, progress)


async def export(
    client: PromptRegistryClient, out_dir: Path, names: Sequence[str] = (), *, label: str = ""
) -> list[Exported]:
    """Write one file per prompt under ``out_dir`` (folders for "/" in names).

    ``names`` are prompt names, or folders when they end in "/"; none: every prompt.
    ``label``: export the version the label points at instead of the newest one.
    """
    specs = await _specs(client, names, label)
    exported = []
    for spec in specs:
        file_spec = pb.PromptSpec()
        file_spec.CopyFrom(spec)
        del file_spec.labels[:]
        file_spec.labels.extend(lb for lb in spec.labels if lb not in AUTOMATIC_LABELS)
        path = prompt_file_path(out_dir, spec.name)
        write_prompt_file(path, file_spec)
        version = await _version_of(client, spec, label)
        exported.append(Exported(path, spec.name, version, tuple(file_spec.labels)))
    return exported


async def _specs(
    client: PromptRegistryClient, names: Sequence[str], label: str
) -> list[pb.PromptSpec]:
    if not names:
        response = await client.rpc.ExportPrompts(pb.ExportPromptsRequest(label=label))
        return list(response.prompts)
    found: dict[str, pb.PromptSpec] = {}
    for name in names:
        folder = name.endswith("/")
        response = await client.rpc.ExportPrompts(pb.ExportPromptsRequest(prefix=name, label=label))
        matches = [s for s in response.prompts if folder or s.name == name]
        if not matches and not folder:
            raise NotFoundError(
                f"prompt '{name}' " + (f"has no label '{label}'" if label else "does not exist"),
                reason="LABEL_NOT_FOUND" if label else "PROMPT_NOT_FOUND",
            )
        found.update((s.name, s) for s in matches)
    return [found[name] for name in sorted(found)]


async def _version_of(client: PromptRegistryClient, spec: pb.PromptSpec, label: str) -> int:
    """The number of an exported version (a spec carries content, not numbers)."""
    if label:
        # Label.version is also the control version a split label exports.
        response = await client.rpc.ListLabels(pb.ListLabelsRequest(name=spec.name))
        return next((lb.version for lb in response.labels if lb.name == label), 0)
    newest = await client.rpc.GetPromptVersion(pb.GetPromptVersionRequest(name=spec.name))
    return newest.version.version
