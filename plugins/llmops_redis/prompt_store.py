"""PromptStore on Redis: versions, labels, audit log and watch stream, changed by Lua scripts.

Each change is one script (``_prompt_scripts``), so it is atomic: concurrent pushes
never share a version number, a label move is a true compare-and-set, and the audit
entry is written in the same step as the change it records. With AOF
(``appendfsync always``) a change is on disk before its reply.

The same store keeps other kinds of versioned records (guardrail policies) under their own
key namespace (``RedisPromptStoreConfig.namespace``): ``llmops:<namespace>:`` instead of
``llmops:prompt:``, ``llmops:<namespace>-names`` and ``-events``; errors then name the kind.

Keys per prompt ``{p}`` = ``llmops:prompt:<name>`` (names hold no ``:``):
  ``{p}:versions`` hash version -> record JSON (without the version, which is the field)
  ``{p}:hashes``   hash content hash -> version (idempotent pushes)
  ``{p}:labels``   hash label -> JSON {version, updated_at, protected, splits, gate, gate_id}
  ``{p}:rollback`` hash label -> JSON list of the states the label left (rollback stack)
  ``{p}:meta``     hash created_at, updated_at, type and tags of the newest version,
                   first_event
  ``{p}:audit``    stream of the prompt's events; kept when the prompt is deleted
Global keys:
  ``llmops:prompt-names``  sorted set of prompt names (score 0: name order, prefix scans)
  ``llmops:prompt-events`` stream of every event, the same entries under the same ids as
                           the prompts' audit streams: the audit log across prompts and
                           the feed of WatchPrompts; never trimmed by the store
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from llmops_core import (
    Health,
    LabelRecord,
    PluginContext,
    PromotionGateRecord,
    PromptEventRecord,
    PromptInfo,
    PromptRecord,
)
from llmops_core.errors import FailedPreconditionError, InternalError, NotFoundError
from llmops_redis import _prompt_scripts as scripts
from llmops_redis._connection import connect, ping, unavailable_on_failure
from llmops_redis._pipelined import PipelinedRedis
from llmops_redis._pipelined import supports as pipelined_supports
from llmops_redis.prompt_events import PromptEventHub, Subscription

_PARTS = ("versions", "hashes", "labels", "meta", "audit", "events", "rollback", "names")
# Old event streams named what happened in ``action``.
_LEGACY_ACTIONS = {"create_version": "VERSION_CREATED", "set_label": "LABEL_SET"}
_RECORD_CACHE_SIZE = 4096
_SCAN_BATCH = 500
_SCAN_LIMIT = 20_000


@dataclass(frozen=True)
class Namespace:
    """One kind of versioned record: where its keys live and how its errors name it."""

    noun: str  # "prompt": keys under llmops:prompt:, errors about "prompt 'x'"
    plural: str
    create_rpc: str  # the RPCs error messages point to
    list_rpc: str
    set_label_rpc: str
    list_labels_rpc: str
    unprotect_hint: str  # how a caller lifts a label's protection

    @property
    def prefix(self) -> str:
        return f"llmops:{self.noun}:"

    @property
    def names_key(self) -> str:
        return f"llmops:{self.noun}-names"

    @property
    def events_key(self) -> str:
        return f"llmops:{self.noun}-events"

    @property
    def legacy_names_key(self) -> str:
        """A set of names, in the first key layout (prompts only; empty for other kinds)."""
        return f"llmops:{self.plural}"

    def key(self, name: str, part: str) -> str:
        return f"{self.prefix}{name}:{part}"

    def keys(self, name: str) -> list[str]:
        """The KEYS of every write script, in the order the scripts expect."""
        keys = [self.key(name, part) for part in _PARTS]
        keys[_PARTS.index("events")] = self.events_key
        keys[_PARTS.index("names")] = self.names_key
        return keys

    def missing(self, name: str) -> NotFoundError:
        return NotFoundError(
            f"{self.noun} '{name}' does not exist; create it with {self.create_rpc}, or check "
            f"the name with {self.list_rpc}",
            reason=f"{self.noun.upper()}_NOT_FOUND",
            metadata={self.noun: name},
        )

    def version_missing(self, name: str, version: int, latest: int) -> NotFoundError:
        return NotFoundError(
            f"{self.noun} '{name}' has no version {version}; its versions are 1 to {latest}",
            reason="VERSION_NOT_FOUND",
            metadata={self.noun: name, "version": str(version)},
        )


NAMESPACES = {
    "prompt": Namespace(
        "prompt",
        "prompts",
        "CreatePromptVersion",
        "ListPrompts",
        "SetLabel",
        "ListLabels",
        "lift the protection with ProtectLabel",
    ),
    "policy": Namespace(
        "policy",
        "policies",
        "CreatePolicyVersion",
        "ListPolicies",
        "SetPolicyLabel",
        "ListPolicyLabels",
        "lift its protection first",
    ),
}
EVENTS_KEY = NAMESPACES["prompt"].events_key


class RedisPromptStoreConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str | None = None  # default: the platform's redis.url
    # States remembered per label for rollbacks without an explicit version.
    rollback_depth: int = Field(default=50, ge=1, le=1000)
    # Events one watcher may have pending before it is dropped (it then resumes by id).
    watch_queue_size: int = Field(default=10_000, ge=10)
    # What the store keeps: prompts, or guardrail policies under keys of their own.
    namespace: Literal["prompt", "policy"] = "prompt"


class RedisPromptStore:
    """Prompt versions, labels and their audit log in Redis."""

    name: ClassVar[str] = "redis"
    Config: ClassVar[type[BaseModel]] = RedisPromptStoreConfig

    def __init__(self, config: RedisPromptStoreConfig, context: PluginContext) -> None:
        self.config = config
        self.url = config.url or context.settings.redis.url
        self._ns = NAMESPACES[config.namespace]
        self._redis = connect(self.url)
        self._create = self._redis.register_script(scripts.CREATE_VERSION)
        self._move = self._redis.register_script(scripts.MOVE_LABEL)
        self._protect = self._redis.register_script(scripts.PROTECT_LABEL)
        self._gate = self._redis.register_script(scripts.SET_PROMOTION_GATE)
        self._delete_label = self._redis.register_script(scripts.DELETE_LABEL)
        self._delete_prompt = self._redis.register_script(scripts.DELETE_PROMPT)
        self._resolve = self._redis.register_script(scripts.RESOLVE)
        # Resolving is on every request's path: it goes over one pipelined connection.
        self._fast = PipelinedRedis(self.url) if pipelined_supports(self.url) else None
        self._migrate = self._redis.register_script(scripts.MIGRATE)
        self._migrated = False
        # Stored records are immutable: the parse of the same bytes is reused.
        self._records: dict[tuple[str, bytes], PromptRecord] = {}
        self._hub = PromptEventHub(
            self.url,
            self._ns.events_key,
            self._redis,
            _event,
            queue_size=config.watch_queue_size,
        )

    async def health(self) -> Health:
        return await ping(self._redis, self.url)

    async def close(self) -> None:
        await self._hub.close()
        if self._fast is not None:
            await self._fast.close()
        await self._redis.aclose()

    # --- versions ---------------------------------------------------------------------------

    async def create_version(self, draft: PromptRecord) -> tuple[PromptRecord, bool]:
        now = time.time()
        body = json.dumps(
            {
                "content": draft.content,
                "content_hash": draft.content_hash,
                "tags": list(draft.tags),
                "commit_message": draft.commit_message,
                "author": draft.author,
                "created_at": now,
            },
            sort_keys=True,
        )
        args = [
            draft.content_hash,
            body,
            draft.content.get("type", ""),
            json.dumps(list(draft.tags)),
        ]
        async with unavailable_on_failure(self.url):
            created, version, stored, *labels = await self._create(
                keys=self._ns.keys(draft.name),
                args=_common(draft.name, now, draft.author, draft.commit_message) + args,
            )
        record = self._record(draft.name, int(version), stored)
        if created:
            return _with_labels_named(record, ("latest",)), True
        pointers = dict(zip(labels[0][::2], labels[0][1::2], strict=True))
        return _with_labels(record, _labels(draft.name, pointers)), False

    async def get_version(self, name: str, version: int) -> PromptRecord | None:
        async with (
            unavailable_on_failure(self.url),
            self._redis.pipeline(transaction=True) as pipe,
        ):
            pipe.hget(self._ns.key(name, "versions"), version)
            pipe.hgetall(self._ns.key(name, "labels"))
            stored, labels = await pipe.execute()
        if stored is None:
            return None
        return _with_labels(self._record(name, version, stored), _labels(name, labels))

    async def latest_version(self, name: str) -> int:
        async with unavailable_on_failure(self.url):
            return int(await self._redis.hlen(self._ns.key(name, "versions")))

    async def version_by_hash(self, name: str, content_hash: str) -> int:
        async with unavailable_on_failure(self.url):
            return int(await self._redis.hget(self._ns.key(name, "hashes"), content_hash) or 0)

    async def list_versions(self, name: str, *, before: int, limit: int) -> list[PromptRecord]:
        async with unavailable_on_failure(self.url):
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hlen(self._ns.key(name, "versions"))
                pipe.hgetall(self._ns.key(name, "labels"))
                latest, labels = await pipe.execute()
            top = min(before - 1, latest) if before else latest
            numbers = list(range(top, max(top - limit, 0), -1))
            stored = (
                await self._redis.hmget(self._ns.key(name, "versions"), numbers) if numbers else []
            )
        pointers = _labels(name, labels)
        return [
            _with_labels(self._record(name, number, raw), pointers)
            for number, raw in zip(numbers, stored, strict=True)
            if raw is not None
        ]

    async def resolve(
        self, name: str, *, label: str, version: int, point: int, fallback: str = ""
    ) -> tuple[PromptRecord, str]:
        """The record ``version`` (or ``label``, else ``fallback``, points at) and the label used."""
        keys = [self._ns.key(name, "labels"), self._ns.key(name, "versions")]
        args = [label, version, point] + ([fallback] if fallback else [])
        async with unavailable_on_failure(self.url):
            if self._fast is not None:
                result = await self._fast.run_script(scripts.RESOLVE, keys, args)
            else:
                result = await self._resolve(keys=keys, args=args)
        outcome = result[0]
        if outcome == b"OK":
            record = self._record(name, int(result[1]), result[2])
            names = tuple(item.decode() for item in result[3:])
            if names:
                record = _with_labels_named(record, names)
            if version:
                return record, ""
            return record, label if label in names or not fallback else fallback
        latest = int(result[1])
        if latest == 0:
            raise self._ns.missing(name)
        if outcome == b"NO_LABEL":
            ns = self._ns
            raise NotFoundError(
                f"{ns.noun} '{name}' has no label '{label}' (its labels: {result[2].decode()}); "
                f"set it with {ns.set_label_rpc}, or resolve one of those",
                reason="LABEL_NOT_FOUND",
                metadata={ns.noun: name, "label": label},
            )
        raise self._ns.version_missing(name, version, latest)

    # --- prompts ----------------------------------------------------------------------------

    async def get_prompt(self, name: str) -> PromptInfo | None:
        await self._migrate_once()
        infos = await self._infos([name])
        return infos[0] if infos else None

    async def list_prompts(
        self, *, prefix: str, after: str, tag: str, label: str, limit: int
    ) -> tuple[list[PromptInfo], str]:
        await self._migrate_once()
        low = "(" + after if after and after >= prefix else ("[" + prefix if prefix else "-")
        high = ("[" + prefix).encode() + b"\xff" if prefix else b"+"
        if not (tag or label):
            async with unavailable_on_failure(self.url):
                raw = await self._redis.zrangebylex(self._ns.names_key, low, high, 0, limit + 1)
            names = [name.decode() for name in raw]
            found = names[:limit]
            return await self._infos(found), (found[-1] if len(names) > limit else "")
        # With filters, scan names in batches and test each batch in one pipeline; stop
        # after _SCAN_LIMIT names so a rare tag cannot make one call read every prompt.
        found, scanned, last = [], 0, ""
        async with unavailable_on_failure(self.url):
            while len(found) < limit and scanned < _SCAN_LIMIT:
                raw = await self._redis.zrangebylex(self._ns.names_key, low, high, 0, _SCAN_BATCH)
                names = [name.decode() for name in raw]
                for name in await self._matching(names, tag, label):
                    found.append(name)
                    last = name
                    if len(found) == limit:
                        break
                else:
                    if len(names) < _SCAN_BATCH:
                        return await self._infos(found), ""
                    scanned += len(names)
                    last = names[-1]
                    low = "(" + last
        return await self._infos(found), last

    async def _matching(self, names: list[str], tag: str, label: str) -> list[str]:
        """The ``names`` whose newest version has ``tag`` and that have ``label``."""
        if not names:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for name in names:
                if tag:
                    pipe.hget(self._ns.key(name, "meta"), "tags")
                if label:
                    pipe.hexists(self._ns.key(name, "labels"), label)
            answers = iter(await pipe.execute())
        kept = []
        for name in names:
            has_tag = not tag or tag in (json.loads(next(answers) or b"[]") or ())
            has_label = not label or bool(next(answers))
            if has_tag and has_label:
                kept.append(name)
        return kept

    async def _infos(self, names: list[str]) -> list[PromptInfo]:
        if not names:
            return []
        async with (
            unavailable_on_failure(self.url),
            self._redis.pipeline(transaction=False) as pipe,
        ):
            for name in names:
                pipe.hlen(self._ns.key(name, "versions"))
                pipe.hgetall(self._ns.key(name, "meta"))
                pipe.hgetall(self._ns.key(name, "labels"))
            answers = await pipe.execute()
        infos = []
        for index, name in enumerate(names):
            latest, meta, labels = answers[3 * index : 3 * index + 3]
            if not latest:
                continue  # deleted between the scan and this read
            meta = {key.decode(): value.decode() for key, value in meta.items()}
            infos.append(
                PromptInfo(
                    name=name,
                    latest_version=int(latest),
                    labels=tuple(_labels(name, labels)),
                    tags=tuple(json.loads(meta.get("tags") or "[]") or ()),
                    type=meta.get("type", ""),
                    created_at=float(meta.get("created_at", 0)),
                    updated_at=float(meta.get("updated_at", 0)),
                )
            )
        return infos

    async def delete_prompt(
        self, name: str, *, allow_protected: bool, author: str, reason: str
    ) -> bool:
        async with unavailable_on_failure(self.url):
            result = await self._delete_prompt(
                keys=[*self._ns.keys(name), self._ns.legacy_names_key],
                args=[*_common(name, time.time(), author, reason), _flag(allow_protected)],
            )
        if result[0] == b"NO_PROMPT":
            return False
        if result[0] == b"PROTECTED":
            ns = self._ns
            raise FailedPreconditionError(
                f"{ns.noun} '{name}' has protected label(s) {result[1].decode()}; set "
                f"allow_protected to delete it anyway, or {ns.unprotect_hint}",
                reason="LABEL_PROTECTED",
                metadata={ns.noun: name, "labels": result[1].decode()},
            )
        return True

    async def _migrate_once(self) -> None:
        if self._migrated:
            return
        async with unavailable_on_failure(self.url):
            await self._migrate(
                keys=[self._ns.legacy_names_key, self._ns.names_key], args=[self._ns.prefix]
            )
        self._migrated = True

    # --- labels -----------------------------------------------------------------------------

    async def get_label(self, name: str, label: str) -> LabelRecord | None:
        async with unavailable_on_failure(self.url):
            stored = await self._redis.hget(self._ns.key(name, "labels"), label)
        return None if stored is None else _label(name, label, stored)

    async def list_labels(self, name: str) -> list[LabelRecord]:
        async with unavailable_on_failure(self.url):
            stored = await self._redis.hgetall(self._ns.key(name, "labels"))
        return _labels(name, stored)

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
        admitted_gate: str = "",
    ) -> LabelRecord:
        record, _previous = await self._move_label(
            name,
            label,
            "set",
            str(version),
            expected_version=expected_version,
            allow_protected=allow_protected,
            admitted_gate=admitted_gate,
            runs=evaluation_run_id,
            author=author,
            reason=reason,
        )
        return record

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
        admitted_gate: str = "",
    ) -> LabelRecord:
        record, _previous = await self._move_label(
            name,
            label,
            "split",
            json.dumps([[int(version), int(weight)] for version, weight in splits]),
            expected_version=expected_version,
            allow_protected=allow_protected,
            admitted_gate=admitted_gate,
            runs=",".join(evaluation_run_ids),
            author=author,
            reason=reason,
        )
        return record

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
        return await self._move_label(
            name,
            label,
            "rollback",
            "" if version is None else str(version),
            expected_version=expected_version,
            allow_protected=allow_protected,
            admitted_gate="",
            runs="",
            author=author,
            reason=reason,
        )

    async def _move_label(
        self,
        name: str,
        label: str,
        mode: str,
        target: str,
        *,
        expected_version: int | None,
        allow_protected: bool,
        admitted_gate: str,
        runs: str,
        author: str,
        reason: str,
    ) -> tuple[LabelRecord, int]:
        args = [
            label,
            mode,
            target,
            "" if expected_version is None else expected_version,
            _flag(allow_protected),
            admitted_gate,
            runs,
            self.config.rollback_depth,
        ]
        async with unavailable_on_failure(self.url):
            result = await self._move(
                keys=self._ns.keys(name), args=_common(name, time.time(), author, reason) + args
            )
        outcome = result[0].decode()
        if outcome == "OK":
            return _label(name, label, result[1]), int(result[3])
        noun = self._ns.noun
        if outcome == "NO_VERSION":
            missing, latest = int(result[1]), int(result[2])
            raise NotFoundError(
                f"{noun} '{name}' has no version {missing} (its versions are 1 to {latest}); "
                f"label '{label}' was not changed",
                reason="VERSION_NOT_FOUND",
                metadata={noun: name, "version": str(missing)},
            )
        if outcome == "NO_EARLIER":
            raise NotFoundError(
                f"label '{label}' of {noun} '{name}' has no earlier version to roll back to "
                f"(it points at version {int(result[1])} and has not moved before, or its "
                "earlier moves were rolled back already); give the version to move to",
                reason="NO_EARLIER_VERSION",
                metadata={noun: name, "label": label},
            )
        raise self._label_failure(name, label, outcome, result, expected_version)

    async def protect_label(
        self, name: str, label: str, protected: bool, *, author: str, reason: str
    ) -> LabelRecord:
        async with unavailable_on_failure(self.url):
            result = await self._protect(
                keys=self._ns.keys(name),
                args=[*_common(name, time.time(), author, reason), label, _flag(protected)],
            )
        if result[0] != b"OK":
            raise self._label_failure(name, label, result[0].decode(), result, None)
        return _label(name, label, result[1])

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
        encoded = ""
        if gate is not None:
            encoded = json.dumps(
                {
                    "require_evaluation": gate.require_evaluation,
                    "metric": gate.metric,
                    "min_score": gate.min_score,
                    "dataset": gate.dataset,
                }
            )
        async with unavailable_on_failure(self.url):
            result = await self._gate(
                keys=self._ns.keys(name),
                args=[
                    *_common(name, time.time(), author, reason),
                    label,
                    encoded,
                    _flag(allow_protected),
                ],
            )
        if result[0] != b"OK":
            raise self._label_failure(name, label, result[0].decode(), result, None)
        return _label(name, label, result[1])

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
        async with unavailable_on_failure(self.url):
            result = await self._delete_label(
                keys=self._ns.keys(name),
                args=[
                    *_common(name, time.time(), author, reason),
                    label,
                    "" if expected_version is None else expected_version,
                    _flag(allow_protected),
                ],
            )
        if result[0] != b"OK":
            raise self._label_failure(name, label, result[0].decode(), result, expected_version)

    def _label_failure(
        self, name: str, label: str, outcome: str, result: list, expected_version: int | None
    ) -> Exception:
        ns = self._ns
        if outcome == "NO_PROMPT":
            return ns.missing(name)
        if outcome == "NO_LABEL":
            return NotFoundError(
                f"{ns.noun} '{name}' has no label '{label}'; {ns.list_labels_rpc} shows the "
                "labels it has",
                reason="LABEL_NOT_FOUND",
                metadata={ns.noun: name, "label": label},
            )
        if outcome == "CAS_MISMATCH":
            current = int(result[1])
            state = f"points at version {current}" if current else "does not exist yet"
            return FailedPreconditionError(
                f"label '{label}' of {ns.noun} '{name}' {state}, not version {expected_version} as "
                f"expected; re-read it and retry with expected_version={current}",
                reason="LABEL_VERSION_MISMATCH",
                metadata={"current_version": str(current)},
            )
        if outcome == "PROTECTED":
            return FailedPreconditionError(
                f"label '{label}' of {ns.noun} '{name}' is protected; set allow_protected to "
                f"change it anyway, or {ns.unprotect_hint}",
                reason="LABEL_PROTECTED",
                metadata={ns.noun: name, "label": label},
            )
        if outcome == "GATED":
            return FailedPreconditionError(
                f"label '{label}' of {ns.noun} '{name}' gained or changed its promotion gate while "
                f"version {int(result[2])} was being admitted; re-read the label and retry with "
                "an evaluation_run_id that passes the current gate",
                reason="PROMOTION_GATE_NOT_MET",
                metadata={ns.noun: name, "label": label},
            )
        return InternalError(f"the {ns.noun} store answered '{outcome}' for label '{label}'")

    # --- audit and watch ----------------------------------------------------------------------

    async def read_events(
        self, prompt_name: str, *, before: str, after: str, count: int
    ) -> list[PromptEventRecord]:
        stream = self._ns.key(prompt_name, "audit") if prompt_name else self._ns.events_key
        async with unavailable_on_failure(self.url):
            entries = await self._redis.xrevrange(
                stream,
                "(" + before if before else "+",
                "(" + after if after else "-",
                count=count,
            )
        return [_event(position, fields) for position, fields in entries]

    async def watch(self, prefix: str, after_event_id: str) -> Subscription:
        return await self._hub.subscribe(prefix, after_event_id)

    # --- parsing ------------------------------------------------------------------------------

    def _record(self, name: str, version: int, stored: bytes) -> PromptRecord:
        key = (name, stored)
        record = self._records.get(key)
        if record is None or record.version != version:
            if len(self._records) >= _RECORD_CACHE_SIZE:
                self._records.clear()
            record = self._records[key] = _parse_record(name, version, stored)
        return record


def _common(name: str, now: float, author: str, reason: str) -> list:
    return [name, repr(now), author, reason]


def _flag(value: bool) -> str:
    return "1" if value else "0"


def _parse_record(name: str, version: int, stored: bytes) -> PromptRecord:
    data = json.loads(stored)
    return PromptRecord(
        name=name,
        version=version,
        content=data["content"],
        content_hash=data["content_hash"],
        tags=tuple(data["tags"]),
        commit_message=data["commit_message"],
        author=data["author"],
        created_at=data["created_at"],
    )


def _with_labels(record: PromptRecord, labels: list[LabelRecord]) -> PromptRecord:
    names = tuple(
        label.name
        for label in labels
        if label.version == record.version
        or any(version == record.version for version, _ in label.splits)
    )
    return _with_labels_named(record, names) if names else record


def _with_labels_named(record: PromptRecord, names: tuple[str, ...]) -> PromptRecord:
    return PromptRecord(
        name=record.name,
        version=record.version,
        content=record.content,
        content_hash=record.content_hash,
        tags=record.tags,
        commit_message=record.commit_message,
        author=record.author,
        created_at=record.created_at,
        labels=names,
    )


def _labels(name: str, stored: dict[bytes, bytes]) -> list[LabelRecord]:
    return sorted(
        (_label(name, label.decode(), value) for label, value in stored.items()),
        key=lambda record: record.name,
    )


def _label(name: str, label: str, stored: bytes) -> LabelRecord:
    data = json.loads(stored)
    gate = data.get("gate")
    return LabelRecord(
        prompt_name=name,
        name=label,
        version=int(data["version"]),
        protected=bool(data.get("protected", False)),
        updated_at=float(data["updated_at"]),
        splits=tuple((int(v), int(w)) for v, w in data.get("splits") or ()),
        gate=PromotionGateRecord(
            require_evaluation=bool(gate.get("require_evaluation", True)),
            metric=gate.get("metric", ""),
            min_score=float(gate.get("min_score", 0.0)),
            dataset=gate.get("dataset", ""),
        )
        if gate
        else None,
        gate_id=data.get("gate_id", "") if gate else "",
    )


def _event(position: bytes, fields: dict[bytes, bytes]) -> PromptEventRecord:
    data = {key.decode(): value.decode() for key, value in fields.items()}
    event_id = position.decode()
    kind = data.get("type") or _LEGACY_ACTIONS.get(data.get("action", ""), "")
    return PromptEventRecord(
        event_id=event_id,
        type=kind,
        prompt_name=data.get("prompt", ""),
        version=int(data.get("version") or 0),
        label=data.get("label", "latest" if kind == "VERSION_CREATED" else ""),
        previous_version=int(data.get("previous_version") or 0),
        splits=tuple((int(v), int(w)) for v, w in json.loads(data.get("splits") or "[]")),
        author=data.get("author", ""),
        reason=data.get("reason", ""),
        timestamp_ms=int(event_id.partition("-")[0]),
        evaluation_run_id=data.get("run", ""),
        protected=data.get("protected") == "1",
    )
