"""Prompts as code: apply prompt specs (files in a repository) and export prompts as specs.

Importing is idempotent: content equal to an existing version maps to that version, and
a label is moved only if it points elsewhere, so applying the same files twice changes
nothing and writes no audit event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llmops_core import PromptRecord, require_name
from llmops_core.errors import (
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
)
from llmops_core.versioning import (
    AUTOMATIC_LABELS,
    MAX_AUTHOR_CHARS,
    check_label,
    check_length,
)
from prompt_registry.checks import (
    check_movable_label,
    check_prefix,
    check_tags,
)
from prompt_registry.content import content_hash, normalise_content
from prompt_registry.domain import PromptRegistry

MAX_SPECS = 500
IMPORT_REASON = "prompts import"
_SPEC_ERRORS = (InvalidArgumentError, NotFoundError, FailedPreconditionError)


@dataclass(frozen=True)
class PromptSpec:
    """What one prompt file declares: content, tags, commit message and labels."""

    name: str
    content: Mapping[str, Any]
    tags: tuple[str, ...] = ()
    commit_message: str = ""
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImportResult:
    """What importing one spec did (or, in a dry run, would do)."""

    name: str
    record: PromptRecord | None
    created: bool = False
    labels_moved: tuple[str, ...] = ()
    error: str = ""


async def import_prompts(
    registry: PromptRegistry,
    specs: Sequence[PromptSpec],
    *,
    author: str,
    dry_run: bool,
    allow_protected: bool,
) -> list[ImportResult]:
    """Apply ``specs`` in order; one spec's failure is its result's ``error``."""
    if not specs:
        raise InvalidArgumentError(
            "prompts is empty; give at least one prompt spec to import", reason="EMPTY_FIELD"
        )
    if len(specs) > MAX_SPECS:
        raise InvalidArgumentError(
            f"{len(specs)} prompt specs; import at most {MAX_SPECS} per request",
            reason="TOO_MANY",
        )
    check_length(author, "author", MAX_AUTHOR_CHARS)
    planned: dict[str, list[str]] = {}  # dry run: content hashes of versions it would create
    results = []
    for spec in specs:
        importer = _Import(registry, spec, author, dry_run, allow_protected, planned)
        results.append(await importer.run())
    return results


class _Import:
    def __init__(
        self,
        registry: PromptRegistry,
        spec: PromptSpec,
        author: str,
        dry_run: bool,
        allow_protected: bool,
        planned: dict[str, list[str]],
    ) -> None:
        self.registry = registry
        self.spec = spec
        self.author = author
        self.dry_run = dry_run
        self.allow_protected = allow_protected
        self.planned = planned
        self.record: PromptRecord | None = None
        self.created = False
        self.moved: list[str] = []

    async def run(self) -> ImportResult:
        try:
            labels = self._labels()
            await (self._plan_version() if self.dry_run else self._create_version())
            for label in labels:
                await self._apply_label(label)
        except _SPEC_ERRORS as exc:
            return self._result(str(exc))
        return self._result("")

    def _result(self, error: str) -> ImportResult:
        return ImportResult(self.spec.name, self.record, self.created, tuple(self.moved), error)

    def _labels(self) -> list[str]:
        require_name(self.spec.name, "name")
        labels = []
        for label in dict.fromkeys(self.spec.labels):
            check_label(label)
            if label not in AUTOMATIC_LABELS:  # "latest" follows the newest version by itself
                check_movable_label(label)
                labels.append(label)
        return labels

    async def _create_version(self) -> None:
        self.record, self.created = await self.registry.create_version(
            self.spec.name,
            self.spec.content,
            tags=self.spec.tags,
            commit_message=self.spec.commit_message,
            author=self.author,
        )

    async def _plan_version(self) -> None:
        store = self.registry.store
        name = self.spec.name
        tags = check_tags(self.spec.tags)
        check_length(self.spec.commit_message, "commit_message", 2000)
        canonical = normalise_content(self.spec.content)
        digest = content_hash(canonical)
        existing = await store.version_by_hash(name, digest)
        if existing:
            self.record = await self.registry.get_version(name, existing)
            return
        planned = self.planned.setdefault(name, [])
        if digest not in planned:
            planned.append(digest)
        self.created = True
        self.record = PromptRecord(
            name=name,
            version=await store.latest_version(name) + 1 + planned.index(digest),
            content=canonical,
            content_hash=digest,
            tags=tags,
            commit_message=self.spec.commit_message,
            author=self.author,
        )

    async def _apply_label(self, label: str) -> None:
        assert self.record is not None
        name, version = self.spec.name, self.record.version
        current = await self.registry.store.get_label(name, label)
        if current is not None and current.version == version and not current.splits:
            return
        if self.dry_run:
            self._check_would_move(label, current)
        else:
            await self.registry.set_label(
                name,
                label,
                version,
                # Moves only from the state just read: a concurrent move is not overwritten.
                expected_version=current.version if current else 0,
                author=self.author,
                reason=IMPORT_REASON,
                allow_protected=self.allow_protected,
            )
        self.moved.append(label)

    def _check_would_move(self, label: str, current: Any) -> None:
        if current is None:
            return
        if current.protected and not self.allow_protected:
            raise FailedPreconditionError(
                f"label '{label}' of prompt '{self.spec.name}' is protected; set allow_protected "
                "to move it",
                reason="LABEL_PROTECTED",
            )
        if current.gate is not None:
            raise FailedPreconditionError(
                f"label '{label}' of prompt '{self.spec.name}' has a promotion gate; an import "
                "cannot name evaluation runs, so move it with SetLabel and evaluation_run_id",
                reason="PROMOTION_GATE_NOT_MET",
            )


async def export_prompts(registry: PromptRegistry, *, prefix: str, label: str) -> list[PromptSpec]:
    """One spec per prompt in name order: its newest version, or the version ``label`` names.

    A spec's labels are the plain (unsplit) labels on that version, "latest" included, so
    importing the specs elsewhere reproduces the pointers; split labels are left out, as
    a spec cannot express a split.
    """
    check_prefix(prefix)
    if label:
        check_label(label)
    specs = []
    after = ""
    while True:
        infos, after = await registry.store.list_prompts(
            prefix=prefix, after=after, tag="", label=label, limit=1000
        )
        for info in infos:
            pointer = next((item for item in info.labels if item.name == label), None)
            if label and pointer is None:
                continue  # the label was deleted between the scan and this read
            version = pointer.version if pointer else info.latest_version
            record = await registry.get_version(info.name, version)
            specs.append(
                PromptSpec(
                    name=info.name,
                    content=record.content,
                    tags=record.tags,
                    commit_message=record.commit_message,
                    labels=tuple(
                        item.name
                        for item in info.labels
                        if item.version == version and not item.splits
                    ),
                )
            )
        if not after:
            return specs
