"""The guardrail policy registry: versions, labels, audit log, diff, and resolving for requests.

Policies are versioned like prompts, by the same store (the Redis prompt store in its
"policy" namespace): immutable versions (content equal to an existing version returns it),
labels moved with compare-and-set ("latest" follows every new version by itself),
protected labels, rollback through a label's history, and an append-only audit log.
Pure logic: no gRPC here. Every request is validated before the store is touched, so a
bad one changes nothing; the store re-checks what can race inside its atomic change.

The API (all async; errors are ``llmops_core.errors``):
  resolve(name, *, version=0, label="") -> PolicyVersion
      The version a request runs under. ``name`` "" is the default policy; ``version`` > 0
      is that version; else ``label``, by default "production", or "latest" where the
      policy has no "production". Versions are cached in memory (they never change), so
      resolving a version costs nothing after the first time and a label one Redis round
      trip. The result's ``labels`` is empty: labels move, ``get`` reads them.
  create(policy) -> (PolicyVersion, created)    the new version, or the existing one
  ensure_default(policy) -> PolicyVersion       creates the default policy if it is missing
  get(name, version=0) -> PolicyVersion         0: the newest; with its labels
  list_policies(page_size, page_token) -> ([newest version of each policy], token)
  list_versions(name, page_size, page_token) -> ([versions, newest first], token)
  set_label(name, label, version, ...) -> LabelRecord
  rollback_label(name, label, version=None, ...) -> (LabelRecord, previous version)
  protect_label(name, label, protected, ...) -> LabelRecord
  list_labels(name) -> [LabelRecord]
  list_events(name="", label="", page_size, page_token) -> ([PromptEventRecord], token)
  diff(name, from_version, to_version) -> PolicyDiff
Writes record ``author`` as given by the caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Awaitable
from dataclasses import dataclass, replace
from typing import Any, Protocol, TypeVar

from guardrails import policy_diff
from guardrails.catalog import CheckCatalog
from guardrails.policy import CheckSettings, PolicyVersion
from guardrails.policy_rules import (
    check_movable_label,
    check_name,
    check_version,
    normalise,
)
from llmops_core import LabelRecord, PromptEventRecord, PromptInfo, PromptRecord, get_logger, paging
from llmops_core.errors import FailedPreconditionError, InvalidArgumentError, NotFoundError
from llmops_core.versioning import (
    check_audit_fields,
    check_expected,
    check_label,
)

DEFAULT_LABEL = "production"
FALLBACK_LABEL = "latest"
_CACHE_SIZE = 4096
_NAMES_IN_ERRORS = 20
_SCAN_LIMIT = 20_000  # events one filtered page may read before it returns what it found
_EVENT_ID = re.compile(r"[0-9]{1,20}-[0-9]{1,20}")
T = TypeVar("T")


class VersionStore(Protocol):
    """What the registry needs of its store (RedisPromptStore, namespace "policy")."""

    async def create_version(self, draft: PromptRecord) -> tuple[PromptRecord, bool]: ...
    async def get_version(self, name: str, version: int) -> PromptRecord | None: ...
    async def latest_version(self, name: str) -> int: ...
    async def list_versions(self, name: str, *, before: int, limit: int) -> list[PromptRecord]: ...
    async def resolve(
        self, name: str, *, label: str, version: int, point: int, fallback: str = ""
    ) -> tuple[PromptRecord, str]: ...
    async def list_prompts(
        self, *, prefix: str, after: str, tag: str, label: str, limit: int
    ) -> tuple[list[PromptInfo], str]: ...
    async def list_labels(self, name: str) -> list[LabelRecord]: ...
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
    ) -> LabelRecord: ...
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
    ) -> tuple[LabelRecord, int]: ...
    async def protect_label(
        self, name: str, label: str, protected: bool, *, author: str, reason: str
    ) -> LabelRecord: ...
    async def read_events(
        self, prompt_name: str, *, before: str, after: str, count: int
    ) -> list[PromptEventRecord]: ...


@dataclass(frozen=True)
class PolicyDiff:
    older: PolicyVersion
    newer: PolicyVersion
    unified_diff: str
    changed_fields: list[str]


class PolicyRegistry:
    """Versioned guardrail policies over a VersionStore, validated against a CheckCatalog."""

    def __init__(
        self, store: VersionStore, checks: CheckCatalog, *, default_name: str = "default"
    ) -> None:
        self.store = store
        self.checks = checks
        self.default_name = check_name(default_name, "guardrails.default_policy")
        self._default: PolicyVersion | None = None  # what ensure_default made it from
        self._log = get_logger("llmops.guardrails.policies")
        # (name, version) -> the version without labels; versions never change.
        self._versions: dict[tuple[str, int], PolicyVersion] = {}

    # --- the request path -----------------------------------------------------------------

    async def resolve(self, name: str, *, version: int = 0, label: str = "") -> PolicyVersion:
        name = check_name(name, "policy") if name else self.default_name
        if version < 0:
            raise InvalidArgumentError(
                f"policy_version is {version}; give a version (from 1), or 0 for a label",
                reason="INVALID_VERSION",
            )
        if label:
            check_label(label)
        try:
            return await self._resolve(name, version, label)
        except NotFoundError as exc:
            # The default policy exists from start-up on; if its data was lost since
            # (a flushed or replaced Redis), it is made again rather than failing every request.
            default = self._default
            if exc.reason != "POLICY_NOT_FOUND" or default is None or name != default.name:
                raise
            await self._create_default(default)
            return await self._resolve(name, version, label)

    async def _resolve(self, name: str, version: int, label: str) -> PolicyVersion:
        if version:
            cached = self._versions.get((name, version))
            if cached is not None:
                return cached
            record, _ = await self._named(
                self.store.resolve(name, label="", version=version, point=0)
            )
        else:
            record, _ = await self._named(
                self.store.resolve(
                    name,
                    label=label or DEFAULT_LABEL,
                    version=0,
                    point=0,
                    fallback="" if label else FALLBACK_LABEL,
                )
            )
        return self._policy(record)

    # --- versions ---------------------------------------------------------------------------

    async def create(self, policy: PolicyVersion) -> tuple[PolicyVersion, bool]:
        draft = normalise(policy, self.checks)
        record, created = await self.store.create_version(
            PromptRecord(
                name=draft.name,
                version=0,
                content=draft.content(),
                content_hash=draft.content_hash,
                commit_message=draft.commit_message,
                author=draft.author,
            )
        )
        return self._with_labels(record), created

    async def ensure_default(self, policy: PolicyVersion) -> PolicyVersion:
        """The default policy: created from ``policy`` with "production" on it if missing.

        Once the policy exists it is left alone (it is then changed by pushing versions),
        so restarts and concurrent workers create it once.
        """
        check_name(policy.name)
        self._default = policy
        if await self.store.latest_version(policy.name) == 0:
            await self._create_default(policy)
        resolved = await self._resolve(policy.name, 0, "")
        if resolved.content_hash != normalise(policy, self.checks).content_hash:
            self._log.warning(
                "the default policy differs from the service config, which only creates it "
                "when it is missing; push a version to change it",
                policy=resolved.ref,
            )
        return resolved

    async def _create_default(self, policy: PolicyVersion) -> None:
        created, _ = await self.create(policy)
        # A worker starting at the same time may have pointed it first: that is as good.
        with contextlib.suppress(FailedPreconditionError):
            await self.store.set_label(
                policy.name,
                DEFAULT_LABEL,
                created.version,
                expected_version=0,
                author=policy.author,
                reason="default policy from the service config",
            )

    async def get(self, name: str, version: int = 0) -> PolicyVersion:
        """One version with its labels; 0 is the newest."""
        check_name(name)
        if version < 0:
            raise InvalidArgumentError(
                f"version is {version}; versions start at 1 (0 means the newest)",
                reason="INVALID_VERSION",
            )
        if version == 0:
            record, _ = await self._named(
                self.store.resolve(name, label=FALLBACK_LABEL, version=0, point=0)
            )
            return self._with_labels(record)
        record = await self.store.get_version(name, version)
        if record is None:
            raise await self._missing_version(name, version)
        return self._with_labels(record)

    async def list_versions(
        self, name: str, *, page_size: int, page_token: str
    ) -> tuple[list[PolicyVersion], str]:
        check_name(name)
        size = paging.page_size(page_size)
        filters = ("versions", name)
        before = paging.decode_token(page_token, filters, int)
        if before is not None and before < 2:
            raise InvalidArgumentError(
                "page_token is not a token this server issued", reason="INVALID_PAGE_TOKEN"
            )
        records = await self.store.list_versions(name, before=before or 0, limit=size)
        if not records and before is None:
            raise await self._missing_policy(name)
        more = bool(records) and records[-1].version > 1 and len(records) == size
        token = paging.encode_token(records[-1].version, filters) if more else ""
        return [self._with_labels(record) for record in records], token

    async def list_policies(
        self, *, page_size: int, page_token: str
    ) -> tuple[list[PolicyVersion], str]:
        size = paging.page_size(page_size)
        filters = ("policies",)
        after = paging.decode_token(page_token, filters, str) or ""
        infos, last = await self.store.list_prompts(
            prefix="", after=after, tag="", label="", limit=size
        )
        records = await asyncio.gather(
            *(self.store.get_version(info.name, info.latest_version) for info in infos)
        )
        policies = [self._with_labels(record) for record in records if record is not None]
        return policies, paging.encode_token(last, filters) if last else ""

    async def diff(self, name: str, from_version: int, to_version: int) -> PolicyDiff:
        check_name(name)
        check_version(from_version, "from_version")
        check_version(to_version, "to_version")
        older = await self.get(name, from_version)
        newer = await self.get(name, to_version)
        return PolicyDiff(
            older,
            newer,
            policy_diff.unified_diff(older, newer),
            policy_diff.changed_fields(older, newer),
        )

    # --- labels -----------------------------------------------------------------------------

    async def set_label(
        self,
        name: str,
        label: str,
        version: int,
        *,
        expected_version: int | None,
        allow_protected: bool,
        author: str,
        reason: str,
    ) -> LabelRecord:
        check_name(name)
        check_movable_label(label)
        check_version(version)
        check_expected(expected_version)
        check_audit_fields(author, reason)
        return await self._named(
            self.store.set_label(
                name,
                label,
                version,
                expected_version=expected_version,
                author=author,
                reason=reason,
                allow_protected=allow_protected,
            )
        )

    async def rollback_label(
        self,
        name: str,
        label: str,
        *,
        version: int | None,
        expected_version: int | None,
        allow_protected: bool,
        author: str,
        reason: str,
    ) -> tuple[LabelRecord, int]:
        """Back to ``version``, or (None) to where the label pointed before its last move.

        Moves form a stack that rollbacks pop: a second rollback goes one move further back.
        """
        check_name(name)
        check_movable_label(label)
        if version is not None:
            check_version(version)
        check_expected(expected_version)
        check_audit_fields(author, reason)
        try:
            return await self._named(
                self.store.rollback_label(
                    name,
                    label,
                    version=version,
                    expected_version=expected_version,
                    author=author,
                    reason=reason,
                    allow_protected=allow_protected,
                )
            )
        except NotFoundError as exc:
            if exc.reason != "NO_EARLIER_VERSION":
                raise
            # The label exists; it is its state that allows no rollback.
            raise FailedPreconditionError(
                exc.message, reason=exc.reason, metadata=exc.metadata
            ) from None

    async def protect_label(
        self, name: str, label: str, protected: bool, *, author: str, reason: str
    ) -> LabelRecord:
        check_name(name)
        check_movable_label(label)
        check_audit_fields(author, reason)
        return await self._named(
            self.store.protect_label(name, label, protected, author=author, reason=reason)
        )

    async def list_labels(self, name: str) -> list[LabelRecord]:
        check_name(name)
        labels = await self.store.list_labels(name)
        if not labels:  # every policy has "latest"
            raise await self._missing_policy(name)
        return labels

    # --- audit ------------------------------------------------------------------------------

    async def list_events(
        self, name: str = "", label: str = "", *, page_size: int, page_token: str
    ) -> tuple[list[PromptEventRecord], str]:
        """Audit events, newest first: of every policy, of one, or of one label of one."""
        if name:
            check_name(name)
        if label:
            if not name:
                raise InvalidArgumentError(
                    "label filters the events of one policy; give the policy name too",
                    reason="LABEL_NEEDS_POLICY",
                )
            check_label(label)
        size = paging.page_size(page_size)
        filters = ("events", name, label)
        before = paging.decode_token(page_token, filters, str) or ""
        if before and not _is_event_id(before):
            raise InvalidArgumentError(
                "page_token is not a token this server issued", reason="INVALID_PAGE_TOKEN"
            )
        if name and await self.store.latest_version(name) == 0:
            raise await self._missing_policy(name)
        found: list[PromptEventRecord] = []
        chunk = min(max(size + 1, 100), 1000)
        scanned = 0
        while True:
            events = await self.store.read_events(name, before=before, after="", count=chunk)
            for index, event in enumerate(events):
                if label and event.label != label:
                    continue
                found.append(event)
                if len(found) == size:
                    rest = events[index + 1 :]
                    more = any(not label or e.label == label for e in rest) or (
                        len(events) == chunk
                    )
                    return found, paging.encode_token(event.event_id, filters) if more else ""
            if len(events) < chunk:
                return found, ""
            before = events[-1].event_id
            scanned += len(events)
            if scanned >= _SCAN_LIMIT:
                return found, paging.encode_token(before, filters)

    # --- records and errors -----------------------------------------------------------------

    def _policy(self, record: PromptRecord) -> PolicyVersion:
        """The version of ``record`` without labels, parsed once."""
        key = (record.name, record.version)
        policy = self._versions.get(key)
        if policy is None or policy.created_at != record.created_at:
            if len(self._versions) >= _CACHE_SIZE:
                self._versions.clear()
            policy = self._versions[key] = PolicyVersion.from_content(
                record.name,
                record.content,
                version=record.version,
                author=record.author,
                commit_message=record.commit_message,
                created_at=record.created_at,
            )
        return policy

    def _with_labels(self, record: PromptRecord) -> PolicyVersion:
        return replace(self._policy(record), labels=tuple(record.labels))

    async def _named(self, call: Awaitable[T]) -> T:
        """``call``, with a missing policy reported together with the policies that exist."""
        try:
            return await call
        except NotFoundError as exc:
            if exc.reason != "POLICY_NOT_FOUND":
                raise
            raise await self._missing_policy(exc.metadata.get("policy", "")) from None

    async def _missing_policy(self, name: str) -> NotFoundError:
        infos, more = await self.store.list_prompts(
            prefix="", after="", tag="", label="", limit=_NAMES_IN_ERRORS
        )
        names = ", ".join(info.name for info in infos) + (", ..." if more else "")
        known = f"the policies are {names}" if infos else "no policy exists yet"
        return NotFoundError(
            f"policy '{name}' does not exist; {known} (create one with CreatePolicyVersion, "
            "or `llmops policy push FILE.yaml`)",
            reason="POLICY_NOT_FOUND",
            metadata={"policy": name},
        )

    async def _missing_version(self, name: str, version: int) -> NotFoundError:
        latest = await self.store.latest_version(name)
        if latest == 0:
            return await self._missing_policy(name)
        return NotFoundError(
            f"policy '{name}' has no version {version}; its versions are 1 to {latest}",
            reason="VERSION_NOT_FOUND",
            metadata={"policy": name, "version": str(version)},
        )


def policy_from_guards(
    name: str,
    input_guards: list[tuple[str, dict[str, Any]]],
    output_guards: list[tuple[str, dict[str, Any]]],
    *,
    author: str,
) -> PolicyVersion:
    """A policy from the service's ``input_guards`` / ``output_guards`` lists of plugin refs.

    A guard's ``threshold``, ``action`` and ``fail_open`` become the check's own settings;
    the rest of its config becomes the check's options.
    """

    def check(plugin: str, config: dict[str, Any]) -> CheckSettings:
        options = dict(config)
        fail_open = options.pop("fail_open", None)
        return CheckSettings(
            check=plugin,
            threshold=options.pop("threshold", None),
            action=options.pop("action", None),
            failure_mode=None if fail_open is None else ("open" if fail_open else "closed"),
            options=options,
        )

    return PolicyVersion(
        name=name,
        input_checks=tuple(check(plugin, config) for plugin, config in input_guards),
        output_checks=tuple(check(plugin, config) for plugin, config in output_guards),
        description="Built from guardrails.input_guards and output_guards at first start-up.",
        author=author,
        commit_message="default policy from the service config",
    )


def _is_event_id(position: str) -> bool:
    return _EVENT_ID.fullmatch(position) is not None
