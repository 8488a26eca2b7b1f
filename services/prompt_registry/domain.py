"""The prompt registry's rules: versions, labels, splits, gates, resolving, rendering, audit.

Pure logic over a PromptStore: no gRPC here. Every request is validated before the
store is touched, so a bad request changes nothing; the store re-checks what can race
(compare-and-set, protection, gates) inside its atomic change.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from llmops_core import (
    PROMPT_EVENT_TYPES,
    LabelRecord,
    PromotionGateRecord,
    PromptEventRecord,
    PromptEventStream,
    PromptInfo,
    PromptRecord,
    PromptStore,
    paging,
    require_name,
    templates,
)
from llmops_core.errors import FailedPreconditionError, InvalidArgumentError, NotFoundError
from llmops_core.versioning import (
    MAX_AUTHOR_CHARS,
    MAX_MESSAGE_CHARS,
    check_audit_fields,
    check_expected,
    check_label,
    check_length,
)
from prompt_registry import diff, gates
from prompt_registry.checks import (
    DEFAULT_LABEL,
    MAX_STICKY_KEY_CHARS,
    check_event_position,
    check_gate,
    check_movable_label,
    check_prefix,
    check_run_ids,
    check_splits,
    check_tags,
)
from prompt_registry.content import content_hash, normalise_content

_SCAN_LIMIT = 20_000  # events one filtered page may read before it returns what it found
_PARSED_CACHE_SIZE = 1024


@dataclass(frozen=True)
class Rendered:
    """A rendered prompt version: text for text prompts, messages for chat prompts."""

    record: PromptRecord
    label: str
    text: str
    messages: list[dict[str, str]]
    unused_variables: list[str]


@dataclass(frozen=True)
class VersionDiff:
    older: PromptRecord
    newer: PromptRecord
    unified_diff: str
    changes: list[diff.FieldChange]


@dataclass(frozen=True)
class AuditFilter:
    """Which audit events to list; times in Unix milliseconds, end exclusive, 0 = open."""

    prompt_name: str = ""
    label: str = ""
    types: tuple[str, ...] = ()
    author: str = ""
    start_ms: int = 0
    end_ms: int = 0


def sticky_point(name: str, label: str, key: str) -> int:
    """Where a sticky key falls on a split: the same key always lands on the same point.

    The store takes it modulo the split's total weight and walks the arms in order, so
    raising the weight of the last arm (a canary) only moves keys towards that arm.
    """
    digest = hashlib.sha256(f"{name}|{label}|{key}".encode()).digest()
    return int.from_bytes(digest[:6], "big")  # 48 bits: exact in Redis Lua's doubles


class PromptRegistry:
    """Versioned prompts over a PromptStore."""

    def __init__(self, store: PromptStore, evaluations: gates.EvaluationRuns | None = None) -> None:
        self.store = store
        self.evaluations = evaluations or gates.NoEvaluationRuns()
        self._parsed: dict[str, list[templates.Template]] = {}

    # --- versions ---------------------------------------------------------------------------

    async def create_version(
        self,
        name: str,
        content: Mapping[str, object],
        *,
        tags: Sequence[str],
        commit_message: str,
        author: str,
    ) -> tuple[PromptRecord, bool]:
        require_name(name, "name")
        tags = check_tags(tags)
        check_length(commit_message, "commit_message", MAX_MESSAGE_CHARS)
        check_length(author, "author", MAX_AUTHOR_CHARS)
        canonical = normalise_content(content)
        draft = PromptRecord(
            name=name,
            version=0,
            content=canonical,
            content_hash=content_hash(canonical),
            tags=tags,
            commit_message=commit_message,
            author=author,
        )
        return await self.store.create_version(draft)

    async def get_version(self, name: str, version: int) -> PromptRecord:
        """One version; 0 is the newest."""
        require_name(name, "name")
        if version < 0:
            raise InvalidArgumentError(
                f"version is {version}; versions start at 1 (0 means the newest)",
                reason="INVALID_VERSION",
            )
        if version == 0:
            record, _label = await self.store.resolve(name, label="latest", version=0, point=0)
            return record
        record = await self.store.get_version(name, version)
        if record is None:
            raise await self._missing_version(name, version)
        return record

    async def list_versions(
        self, name: str, *, page_size: int, page_token: str
    ) -> tuple[list[PromptRecord], str]:
        require_name(name, "name")
        size = paging.page_size(page_size)
        filters = ("versions", name)
        before = paging.decode_token(page_token, filters, int)
        if before is not None and before < 2:
            raise InvalidArgumentError(
                "page_token is not a token this server issued", reason="INVALID_PAGE_TOKEN"
            )
        records = await self.store.list_versions(name, before=before or 0, limit=size)
        if not records and before is None:
            raise _prompt_missing(name)
        more = bool(records) and records[-1].version > 1 and len(records) == size
        return records, paging.encode_token(records[-1].version, filters) if more else ""

    async def diff(self, name: str, from_version: int, to_version: int) -> VersionDiff:
        require_name(name, "name")
        for field, value in (("from_version", from_version), ("to_version", to_version)):
            if value < 1:
                raise InvalidArgumentError(
                    f"{field} is {value}; give a version number (from 1)", reason="INVALID_VERSION"
                )
        older = await self.get_version(name, from_version)
        newer = await self.get_version(name, to_version)
        return VersionDiff(
            older, newer, diff.unified_diff(older, newer), diff.field_changes(older, newer)
        )

    # --- prompts ----------------------------------------------------------------------------

    async def get_prompt(self, name: str) -> PromptInfo:
        require_name(name, "name")
        info = await self.store.get_prompt(name)
        if info is None:
            raise _prompt_missing(name)
        return info

    async def list_prompts(
        self, *, page_size: int, page_token: str, prefix: str, tag: str, label: str
    ) -> tuple[list[PromptInfo], str]:
        size = paging.page_size(page_size)
        check_prefix(prefix)
        if tag:
            check_tags([tag])
        if label:
            check_label(label)
        filters = ("prompts", prefix, tag, label)
        after = paging.decode_token(page_token, filters, str) or ""
        infos, last = await self.store.list_prompts(
            prefix=prefix, after=after, tag=tag, label=label, limit=size
        )
        return infos, paging.encode_token(last, filters) if last else ""

    async def delete_prompt(
        self, name: str, *, allow_protected: bool, allow_missing: bool, author: str, reason: str
    ) -> bool:
        require_name(name, "name")
        check_audit_fields(author, reason)
        deleted = await self.store.delete_prompt(
            name, allow_protected=allow_protected, author=author, reason=reason
        )
        if not deleted and not allow_missing:
            raise _prompt_missing(name)
        return deleted

    # --- labels -----------------------------------------------------------------------------

    async def set_label(
        self,
        name: str,
        label: str,
        version: int,
        *,
        expected_version: int | None,
        author: str,
        reason: str,
        allow_protected: bool = False,
        evaluation_run_id: str = "",
    ) -> LabelRecord:
        require_name(name, "name")
        check_movable_label(label)
        if version < 1:
            raise InvalidArgumentError(
                f"version is {version}; give the version number to point at (from 1)",
                reason="INVALID_VERSION",
            )
        check_expected(expected_version)
        check_audit_fields(author, reason)
        runs = [evaluation_run_id] if evaluation_run_id else []
        check_run_ids(runs)
        admitted = await self._admit(name, label, [version], runs)
        return await self.store.set_label(
            name,
            label,
            version,
            expected_version=expected_version,
            author=author,
            reason=reason,
            allow_protected=allow_protected,
            evaluation_run_id=evaluation_run_id,
            admitted_gate=admitted,
        )

    async def set_label_split(
        self,
        name: str,
        label: str,
        splits: Sequence[tuple[int, int]],
        *,
        expected_version: int | None,
        author: str,
        reason: str,
        allow_protected: bool = False,
        evaluation_run_ids: Sequence[str] = (),
    ) -> LabelRecord:
        require_name(name, "name")
        check_movable_label(label)
        check_splits(splits)
        check_expected(expected_version)
        check_audit_fields(author, reason)
        check_run_ids(evaluation_run_ids)
        admitted = await self._admit(
            name, label, [version for version, _ in splits], list(evaluation_run_ids)
        )
        return await self.store.set_label_split(
            name,
            label,
            [(int(version), int(weight)) for version, weight in splits],
            expected_version=expected_version,
            author=author,
            reason=reason,
            allow_protected=allow_protected,
            evaluation_run_ids=tuple(evaluation_run_ids),
            admitted_gate=admitted,
        )

    async def rollback_label(
        self,
        name: str,
        label: str,
        *,
        version: int | None,
        expected_version: int | None,
        author: str,
        reason: str,
        allow_protected: bool = False,
    ) -> tuple[LabelRecord, int]:
        """Move back to ``version``, or (None) to the state before the last move not undone.

        Each rollback without a version goes one move further back: moves form a stack
        that rollbacks pop, so an alert that fires twice does not flip the label back
        to the version it fled. Rollbacks pass promotion gates (the versions were
        admitted before) but not protection.
        """
        require_name(name, "name")
        check_movable_label(label)
        if version is not None and version < 1:
            raise InvalidArgumentError(
                f"version is {version}; give the version to roll back to (from 1), or leave "
                "it unset for the version before the label's last move",
                reason="INVALID_VERSION",
            )
        check_expected(expected_version)
        check_audit_fields(author, reason)
        return await self.store.rollback_label(
            name,
            label,
            version=version,
            expected_version=expected_version,
            author=author,
            reason=reason,
            allow_protected=allow_protected,
        )

    async def protect_label(
        self, name: str, label: str, protected: bool, *, author: str, reason: str
    ) -> LabelRecord:
        require_name(name, "name")
        check_movable_label(label)
        check_audit_fields(author, reason)
        return await self.store.protect_label(name, label, protected, author=author, reason=reason)

    async def set_promotion_gate(
        self,
        name: str,
        label: str,
        gate: PromotionGateRecord | None,
        *,
        allow_protected: bool,
        author: str,
        reason: str,
    ) -> LabelRecord:
        require_name(name, "name")
        check_movable_label(label)
        if gate is not None:
            check_gate(gate)
        check_audit_fields(author, reason)
        return await self.store.set_promotion_gate(
            name, label, gate, allow_protected=allow_protected, author=author, reason=reason
        )

    async def delete_label(
        self,
        name: str,
        label: str,
        *,
        expected_version: int | None,
        allow_protected: bool,
        author: str,
        reason: str,
    ) -> None:
        require_name(name, "name")
        check_movable_label(label)
        check_expected(expected_version)
        check_audit_fields(author, reason)
        await self.store.delete_label(
            name,
            label,
            expected_version=expected_version,
            allow_protected=allow_protected,
            author=author,
            reason=reason,
        )

    async def list_labels(self, name: str) -> list[LabelRecord]:
        require_name(name, "name")
        labels = await self.store.list_labels(name)
        if not labels:  # every prompt has "latest"
            raise _prompt_missing(name)
        return labels

    async def list_label_history(
        self, name: str, label: str, *, page_size: int, page_token: str
    ) -> tuple[list[PromptEventRecord], str]:
        require_name(name, "name")
        check_label(label)
        size = paging.page_size(page_size)
        filters = ("label-history", name, label)
        before = check_event_position(paging.decode_token(page_token, filters, str))
        if await self.store.latest_version(name) == 0:
            raise _prompt_missing(name)
        events, last = await self._scan(
            name,
            before=before or "",
            after="",
            keep=lambda event: event.label == label,
            # Older events belong to an earlier prompt of the same name.
            stop=lambda event: event.type == "PROMPT_DELETED",
            limit=size,
        )
        if not events and before is None and await self.store.get_label(name, label) is None:
            raise NotFoundError(
                f"prompt '{name}' has no label '{label}' and never had one",
                reason="LABEL_NOT_FOUND",
                metadata={"prompt": name, "label": label},
            )
        return events, paging.encode_token(last, filters) if last else ""

    # --- resolving and rendering --------------------------------------------------------------

    async def resolve(
        self, name: str, *, label: str = "", version: int = 0, sticky_key: str = ""
    ) -> tuple[PromptRecord, str]:
        """The version a label points at (or the given version); NOT_FOUND, never a fallback."""
        require_name(name, "name")
        if version:
            if version < 0:
                raise InvalidArgumentError(
                    f"version is {version}; versions start at 1", reason="INVALID_VERSION"
                )
            return await self.store.resolve(name, label="", version=version, point=0)
        label = label or DEFAULT_LABEL
        check_label(label)
        if sticky_key:
            check_length(sticky_key, "sticky_key", MAX_STICKY_KEY_CHARS)
            point = sticky_point(name, label, sticky_key)
        else:
            point = random.getrandbits(48)
        return await self.store.resolve(name, label=label, version=0, point=point)

    async def render(
        self,
        name: str,
        variables: Mapping[str, str],
        *,
        label: str = "",
        version: int = 0,
        sticky_key: str = "",
    ) -> Rendered:
        record, resolved_label = await self.resolve(
            name, label=label, version=version, sticky_key=sticky_key
        )
        content = record.content
        unused = templates.check_values(list(content["variables"]), variables)
        parsed = self._templates(record)
        if content["type"] == "text":
            return Rendered(record, resolved_label, parsed[0].render(variables), [], unused)
        messages = [
            {"role": message["role"], "content": template.render(variables)}
            for message, template in zip(content["messages"], parsed, strict=True)
        ]
        return Rendered(record, resolved_label, "", messages, unused)

    def _templates(self, record: PromptRecord) -> list[templates.Template]:
        parsed = self._parsed.get(record.content_hash)
        if parsed is None:
            content = record.content
            texts = (
                [content["template"]]
                if content["type"] == "text"
                else [m["content"] for m in content["messages"]]
            )
            if len(self._parsed) >= _PARSED_CACHE_SIZE:
                self._parsed.clear()
            parsed = self._parsed[record.content_hash] = [templates.parse(t) for t in texts]
        return parsed

    # --- audit and watch ----------------------------------------------------------------------

    async def list_audit_events(
        self, query: AuditFilter, *, page_size: int, page_token: str
    ) -> tuple[list[PromptEventRecord], str]:
        if query.prompt_name:
            require_name(query.prompt_name, "prompt_name")
        if query.label:
            if not query.prompt_name:
                raise InvalidArgumentError(
                    "label filters the events of one prompt; set prompt_name too",
                    reason="LABEL_NEEDS_PROMPT",
                )
            check_label(query.label)
        unknown = [kind for kind in query.types if kind not in PROMPT_EVENT_TYPES]
        if unknown:
            raise InvalidArgumentError(
                f"unknown event type(s) {', '.join(unknown)}; use {', '.join(PROMPT_EVENT_TYPES)}",
                reason="INVALID_EVENT_TYPE",
            )
        if query.start_ms < 0 or query.end_ms < 0:
            raise InvalidArgumentError(
                "start_time and end_time must not be before 1970", reason="INVALID_TIME_RANGE"
            )
        if query.start_ms and query.end_ms and query.start_ms >= query.end_ms:
            raise InvalidArgumentError(
                "start_time must be before end_time (start is inclusive, end exclusive)",
                reason="INVALID_TIME_RANGE",
            )
        size = paging.page_size(page_size)
        filters = (
            "audit",
            query.prompt_name,
            query.label,
            sorted(query.types),
            query.author,
            query.start_ms,
            query.end_ms,
        )
        before = check_event_position(paging.decode_token(page_token, filters, str))
        if query.end_ms and (before is None or _key(before) > (query.end_ms, 0)):
            before = f"{query.end_ms}-0"
        after = f"{query.start_ms - 1}-18446744073709551615" if query.start_ms > 0 else ""
        types = set(query.types)

        def keep(event: PromptEventRecord) -> bool:
            return (
                (not types or event.type in types)
                and (not query.label or event.label == query.label)
                and (not query.author or event.author == query.author)
            )

        events, last = await self._scan(
            query.prompt_name, before=before or "", after=after, keep=keep, stop=None, limit=size
        )
        return events, paging.encode_token(last, filters) if last else ""

    async def watch(self, prefix: str, after_event_id: str) -> PromptEventStream:
        check_prefix(prefix)
        return await self.store.watch(prefix, after_event_id)

    async def _scan(
        self,
        prompt_name: str,
        *,
        before: str,
        after: str,
        keep: Callable[[PromptEventRecord], bool],
        stop: Callable[[PromptEventRecord], bool] | None,
        limit: int,
    ) -> tuple[list[PromptEventRecord], str]:
        """Events newest first that ``keep`` accepts, until ``stop``; and where to go on."""
        found: list[PromptEventRecord] = []
        chunk = min(max(limit + 1, 100), 1000)
        scanned = 0
        while True:
            events = await self.store.read_events(
                prompt_name, before=before, after=after, count=chunk
            )
            for index, event in enumerate(events):
                if stop is not None and stop(event):
                    return found, ""
                if keep(event):
                    found.append(event)
                    if len(found) == limit:
                        more = self._more(events[index + 1 :], keep, stop, len(events) < chunk)
                        return found, event.event_id if more else ""
            if len(events) < chunk:
                return found, ""
            before = events[-1].event_id
            scanned += len(events)
            if scanned >= _SCAN_LIMIT:
                return found, before

    @staticmethod
    def _more(
        rest: list[PromptEventRecord],
        keep: Callable[[PromptEventRecord], bool],
        stop: Callable[[PromptEventRecord], bool] | None,
        at_end: bool,
    ) -> bool:
        """Whether a next page may hold events, judged from the rest of the chunk read."""
        for event in rest:
            if stop is not None and stop(event):
                return False
            if keep(event):
                return True
        return not at_end  # unread events may match

    # --- gates ----------------------------------------------------------------------------------

    async def _admit(
        self, name: str, label: str, versions: Sequence[int], run_ids: Sequence[str]
    ) -> str:
        """The gate id under which the move is admitted; "" when the label has no gate."""
        current = await self.store.get_label(name, label)
        if current is None or current.gate is None:
            return ""
        held = {current.version, *(version for version, _ in current.splits)}
        needed = [version for version in versions if version not in held]
        if not needed:
            return current.gate_id
        gate = current.gate
        if not run_ids:
            raise FailedPreconditionError(
                f"label '{label}' of prompt '{name}' has a promotion gate ({gates.describe(gate)}"
                f"); name a passed evaluation run of version {needed[0]} in evaluation_run_id "
                "(evaluation_run_ids for a split)",
                reason="PROMOTION_GATE_NOT_MET",
                metadata={"prompt": name, "label": label},
            )
        runs = [await self.evaluations.get(run_id) for run_id in run_ids]
        for version in needed:
            problems = [gates.admission_problem(gate, run, name, version) for run in runs]
            if "" not in problems:
                raise FailedPreconditionError(
                    f"no evaluation run admits {name}@{version} onto label '{label}' (gate: "
                    f"{gates.describe(gate)}): {'; '.join(problems)}",
                    reason="PROMOTION_GATE_NOT_MET",
                    metadata={"prompt": name, "label": label, "version": str(version)},
                )
        return current.gate_id

    async def _missing_version(self, name: str, version: int) -> NotFoundError:
        latest = await self.store.latest_version(name)
        if latest == 0:
            return _prompt_missing(name)
        return NotFoundError(
            f"prompt '{name}' has no version {version}; its versions are 1 to {latest}",
            reason="VERSION_NOT_FOUND",
            metadata={"prompt": name, "version": str(version)},
        )


def _prompt_missing(name: str) -> NotFoundError:
    return NotFoundError(
        f"prompt '{name}' does not exist; create it with CreatePromptVersion, or check the name "
        "with ListPrompts",
        reason="PROMPT_NOT_FOUND",
        metadata={"prompt": name},
    )


def _key(event_id: str) -> tuple[int, int]:
    milliseconds, _, sequence = event_id.partition("-")
    return int(milliseconds), int(sequence)
