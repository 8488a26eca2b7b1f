"""PromptStore on Redis: versions, content-hash index and labels per prompt, changed by Lua scripts.

Each change is one script, so it is atomic: concurrent pushes never share a version
number, a label move is a true compare-and-set, and the audit entry is written in
the same step as the change it records.

Keys per prompt ``{p}`` = ``llmops:prompt:<name>``:
  ``{p}:versions`` hash version -> record JSON (without the version, which is the field)
  ``{p}:hashes``   hash content hash -> version (idempotent pushes)
  ``{p}:labels``   hash label -> label JSON
  ``{p}:audit``    stream of changes; ``llmops:prompts`` set of names; ``llmops:prompt-events`` stream
"""

from __future__ import annotations

import json
import time
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from llmops_core import Health, LabelRecord, PluginContext, PromptRecord
from llmops_core.errors import FailedPreconditionError, NotFoundError
from llmops_redis._connection import connect, ping, unavailable_on_failure

NAMES_KEY = "llmops:prompts"
EVENTS_KEY = "llmops:prompt-events"

_CREATE_VERSION = """
local existing = redis.call('HGET', KEYS[2], ARGV[1])
if existing then
  return {0, existing, redis.call('HGET', KEYS[1], existing)}
end
local version = redis.call('HLEN', KEYS[1]) + 1
redis.call('HSET', KEYS[1], version, ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], version)
redis.call('HSET', KEYS[3], 'latest',
  '{"version":' .. version .. ',"updated_at":' .. ARGV[3] .. ',"protected":false}')
redis.call('SADD', KEYS[4], ARGV[5])
redis.call('XADD', KEYS[5], '*', 'action', 'create_version', 'version', version,
  'author', ARGV[4], 'at', ARGV[3])
redis.call('XADD', KEYS[6], 'MAXLEN', '~', 10000, '*', 'prompt', ARGV[5],
  'action', 'create_version', 'version', version)
return {1, tostring(version), ARGV[2]}
"""

_SET_LABEL = """
if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 0 then
  return {'NO_VERSION', ''}
end
local current = redis.call('HGET', KEYS[1], ARGV[1])
local current_version = 0
if current then current_version = cjson.decode(current)['version'] end
if ARGV[3] ~= '' and tonumber(ARGV[3]) ~= current_version then
  return {'CAS_MISMATCH', tostring(current_version)}
end
local label = cjson.encode({version = tonumber(ARGV[2]), updated_at = tonumber(ARGV[4]),
  protected = false})
redis.call('HSET', KEYS[1], ARGV[1], label)
redis.call('XADD', KEYS[3], '*', 'action', 'set_label', 'label', ARGV[1], 'version', ARGV[2],
  'previous_version', current_version, 'author', ARGV[5], 'reason', ARGV[6], 'at', ARGV[4])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', 10000, '*', 'prompt', ARGV[7], 'action', 'set_label',
  'label', ARGV[1], 'version', ARGV[2])
return {'OK', label}
"""


class RedisPromptStoreConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str | None = None  # default: the platform's redis.url


class RedisPromptStore:
    """Prompt versions and labels in Redis."""

    name: ClassVar[str] = "redis"
    Config: ClassVar[type[BaseModel]] = RedisPromptStoreConfig

    def __init__(self, config: RedisPromptStoreConfig, context: PluginContext) -> None:
        self.url = config.url or context.settings.redis.url
        self._redis = connect(self.url)
        self._create = self._redis.register_script(_CREATE_VERSION)
        self._set_label = self._redis.register_script(_SET_LABEL)

    async def health(self) -> Health:
        return await ping(self._redis, self.url)

    async def close(self) -> None:
        await self._redis.aclose()

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
        keys = [
            *_prompt_keys(draft.name, "versions", "hashes", "labels"),
            NAMES_KEY,
            _key(draft.name, "audit"),
            EVENTS_KEY,
        ]
        async with unavailable_on_failure(self.url):
            created, version, stored = await self._create(
                keys=keys, args=[draft.content_hash, body, repr(now), draft.author, draft.name]
            )
        return _record(draft.name, int(version), stored), bool(created)

    async def get_version(self, name: str, version: int) -> PromptRecord | None:
        async with unavailable_on_failure(self.url):
            stored = await self._redis.hget(_key(name, "versions"), version)
        return None if stored is None else _record(name, version, stored)

    async def latest_version(self, name: str) -> int:
        async with unavailable_on_failure(self.url):
            return int(await self._redis.hlen(_key(name, "versions")))

    async def get_label(self, name: str, label: str) -> LabelRecord | None:
        async with unavailable_on_failure(self.url):
            stored = await self._redis.hget(_key(name, "labels"), label)
        return None if stored is None else _label(name, label, stored)

    async def list_labels(self, name: str) -> list[LabelRecord]:
        async with unavailable_on_failure(self.url):
            stored = await self._redis.hgetall(_key(name, "labels"))
        return sorted(
            (_label(name, label.decode(), value) for label, value in stored.items()),
            key=lambda record: record.name,
        )

    async def set_label(
        self,
        name: str,
        label: str,
        version: int,
        *,
        expected_version: int | None,
        author: str,
        reason: str,
    ) -> LabelRecord:
        keys = [*_prompt_keys(name, "labels", "versions", "audit"), EVENTS_KEY]
        args = [
            label,
            version,
            "" if expected_version is None else expected_version,
            repr(time.time()),
            author,
            reason,
            name,
        ]
        async with unavailable_on_failure(self.url):
            outcome, detail = await self._set_label(keys=keys, args=args)
        if outcome == b"NO_VERSION":
            raise NotFoundError(
                f"prompt '{name}' has no version {version}; label '{label}' was not moved",
                reason="VERSION_NOT_FOUND",
            )
        if outcome == b"CAS_MISMATCH":
            current = int(detail)
            state = f"points at version {current}" if current else "does not exist yet"
            raise FailedPreconditionError(
                f"label '{label}' of prompt '{name}' {state}, not version {expected_version} as "
                f"expected; re-read it and retry with expected_version={current}",
                reason="LABEL_VERSION_MISMATCH",
                metadata={"current_version": str(current)},
            )
        return _label(name, label, detail)


def _key(name: str, part: str) -> str:
    return f"llmops:prompt:{name}:{part}"


def _prompt_keys(name: str, *parts: str) -> list[str]:
    return [_key(name, part) for part in parts]


def _record(name: str, version: int, stored: bytes) -> PromptRecord:
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


def _label(name: str, label: str, stored: bytes) -> LabelRecord:
    data = json.loads(stored)
    return LabelRecord(
        prompt_name=name,
        name=label,
        version=int(data["version"]),
        protected=bool(data.get("protected", False)),
        updated_at=float(data["updated_at"]),
    )
