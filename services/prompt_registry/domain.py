"""The prompt registry's rules: versions, labels, splits, gates, resolving, rendering, audit.

Pure logic over a PromptStore: no gRPC here. Every request is validated before the
store is touched, so a bad request changes nothing; the store re-checks what can race
(compare-and-set, protection, gates) inside its atomic change.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
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
    require_name,
    templates,
)
from llmops_core.errors import FailedPreconditionError, InvalidArgumentError, NotFoundError
from prompt_registry import diff, gates, paging
from prompt_registry.content import content_hash, normalise_content

MAX_TAGS = 32
MAX_TAG_CHARS = 64
MAX_AUTHOR_CHARS = 200
MAX_MESSAGE_CHARS = 2000  # commit messages and reasons
MAX_SPLITS = 10
MAX_WEIGHT = 1_000_000
MAX_STICKY_KEY_CHARS = 1000
MAX_RUN_ID_CHARS = 200
AUTOMATIC_LABELS = ("latest",)
DEFAULT_LABEL = "production"
_LABEL = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
_PREFIX = re.compile(r"^[a-z0-9._/-]{0,200}$")
_EVENT_ID = re.compile(r"^\d{1,20}-\d{1,20}$")
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
        _audit_fields(author, reason)
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
        _check_expected(expected_version)
        _audit_fields(author, reason)
        runs = [evaluation_run_id] if evaluation_run_id else []
        _check_run_ids(runs)
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
        _check_splits(splits)
        _check_expected(expected_version)
        _audit_fields(author, reason)
        _check_run_ids(evaluation_run_ids)
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
        _check_expected(expected_version)
        _audit_fields(author, reason)
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
        _audit_fields(author, reason)
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
            _check_gate(gate)
        _audit_fields(author, reason)
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
        _check_expected(expected_version)
        _audit_fields(author, reason)
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
        before = _event_position(paging.decode_token(page_token, filters, str))
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
        before = _event_position(paging.decode_token(page_token, filters, str))
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


def check_label(label: str) -> None:
    if not _LABEL.match(label):
        raise InvalidArgumentError(
            f"label '{label[:80]}' is not a valid label name: use 1 to 63 lowercase letters, "
            "digits, '.', '_' and '-', starting with a letter or digit",
            reason="INVALID_LABEL",
        )


def check_movable_label(label: str) -> None:
    check_label(label)
    if label in AUTOMATIC_LABELS:
        raise InvalidArgumentError(
            f"label '{label}' is maintained automatically (it follows every new version) and "
            "cannot be set, split, rolled back, protected, gated or deleted; use another label",
            reason="AUTOMATIC_LABEL",
        )


def _check_expected(expected_version: int | None) -> None:
    if expected_version is not None and expected_version < 0:
        raise InvalidArgumentError(
            f"expected_version is {expected_version}; give 0 (the label must not exist yet), "
            "the label's current version, or leave it unset for no check",
            reason="INVALID_VERSION",
        )


def _check_splits(splits: Sequence[tuple[int, int]]) -> None:
    if not splits:
        raise InvalidArgumentError(
            "splits is empty; give at least one arm (version and weight)", reason="EMPTY_FIELD"
        )
    if len(splits) > MAX_SPLITS:
        raise InvalidArgumentError(
            f"{len(splits)} arms; a split has at most {MAX_SPLITS}", reason="TOO_MANY"
        )
    seen: set[int] = set()
    for index, (version, weight) in enumerate(splits):
        if version < 1:
            raise InvalidArgumentError(
                f"splits[{index}].version is {version}; give a version number (from 1)",
                reason="INVALID_SPLIT",
            )
        if version in seen:
            raise InvalidArgumentError(
                f"version {version} appears twice in splits; give each version once with its "
                "whole weight",
                reason="INVALID_SPLIT",
            )
        seen.add(version)
        if not 0 < weight <= MAX_WEIGHT:
            raise InvalidArgumentError(
                f"splits[{index}].weight is {weight}; weights are whole numbers from 1 to "
                f"{MAX_WEIGHT} (e.g. 90 and 10 for a 90/10 split)",
                reason="INVALID_SPLIT",
            )


def _check_gate(gate: PromotionGateRecord) -> None:
    if not gate.require_evaluation:
        raise InvalidArgumentError(
            "gate.require_evaluation is false, which gates nothing; set it to true, or leave "
            "gate unset to remove the label's gate",
            reason="INVALID_GATE",
        )
    check_length(gate.metric, "gate.metric", 100)
    check_length(gate.dataset, "gate.dataset", 200)
    if not math.isfinite(gate.min_score):
        raise InvalidArgumentError("gate.min_score must be a finite number", reason="INVALID_GATE")
    if gate.min_score and not gate.metric:
        raise InvalidArgumentError(
            "gate.min_score needs gate.metric: name the metric the score is for",
            reason="INVALID_GATE",
        )


def _check_run_ids(run_ids: Sequence[str]) -> None:
    if len(run_ids) > MAX_SPLITS:
        raise InvalidArgumentError(
            f"{len(run_ids)} evaluation runs; give at most {MAX_SPLITS}", reason="TOO_MANY"
        )
    for run_id in run_ids:
        if not run_id.strip():
            raise InvalidArgumentError("evaluation run ids must not be empty", reason="EMPTY_FIELD")
        check_length(run_id, "evaluation_run_id", MAX_RUN_ID_CHARS)


def check_prefix(prefix: str) -> None:
    if not _PREFIX.match(prefix):
        raise InvalidArgumentError(
            f"prefix '{prefix[:80]}' cannot start a prompt name: use lowercase letters, digits, "
            "'.', '_', '-' and '/' (e.g. 'support/'), at most 200 characters",
            reason="INVALID_PREFIX",
        )


def check_tags(tags: Sequence[str]) -> tuple[str, ...]:
    if len(tags) > MAX_TAGS:
        raise InvalidArgumentError(f"{len(tags)} tags; the limit is {MAX_TAGS}", reason="TOO_MANY")
    for tag in tags:
        if not tag.strip() or tag != tag.strip() or len(tag) > MAX_TAG_CHARS:
            raise InvalidArgumentError(
                f"tag '{tag[:80]}' is not valid: tags hold 1 to {MAX_TAG_CHARS} characters "
                "without leading or trailing spaces",
                reason="INVALID_TAG",
            )
    return tuple(dict.fromkeys(tags))


def check_length(value: str, field: str, most: int) -> None:
    if len(value) > most:
        raise InvalidArgumentError(
            f"{field} has {len(value)} characters; the limit is {most}",
            reason="FIELD_TOO_LONG",
            metadata={"field": field, "limit": str(most)},
        )


def _audit_fields(author: str, reason: str) -> None:
    check_length(author, "author", MAX_AUTHOR_CHARS)
    check_length(reason, "reason", MAX_MESSAGE_CHARS)


def _event_position(position: str | None) -> str | None:
    if position is not None and not _EVENT_ID.match(position):
        raise InvalidArgumentError(
            "page_token is not a token this server issued", reason="INVALID_PAGE_TOKEN"
        )
    return position


def _key(event_id: str) -> tuple[int, int]:
    milliseconds, _, sequence = event_id.partition("-")
    return int(milliseconds), int(sequence)
