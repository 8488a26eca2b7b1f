"""The Lua scripts of the Redis prompt store: every change is one script, so it is atomic.

Redis runs a script alone, start to end, so a check and the write it guards cannot be
separated by another client's change. A script that fails half-way is not rolled back,
so each one checks everything first and writes only after the last check passed.

The write scripts share one calling convention (see ``RedisPromptStore._keys``):
KEYS = versions, hashes, labels, meta, audit, events, rollback, names;
ARGV[1..4] = prompt name, now (seconds), author, reason; the script's own arguments
follow from ARGV[5]. Each change appends its event to the global stream and, under
the same id, to the prompt's own audit stream.
"""

from __future__ import annotations

_PRELUDE = """
local VERSIONS, HASHES, LABELS, META = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local AUDIT, EVENTS, BACK, NAMES = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local NAME, NOW, AUTHOR, REASON = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

-- Append an event to the global stream, then under the same id to the prompt's audit
-- stream. The global id is the larger of the two streams' clocks except after someone
-- deleted the global stream; then the audit entry takes a fresh id rather than failing.
local function emit(kind, fields)
  local entry = {'type', kind, 'prompt', NAME, 'author', AUTHOR, 'reason', REASON, 'at', NOW}
  for i = 1, #fields do entry[#entry + 1] = fields[i] end
  local id = redis.call('XADD', EVENTS, '*', unpack(entry))
  local copied = redis.pcall('XADD', AUDIT, id, unpack(entry))
  if type(copied) == 'table' and copied.err then
    redis.call('XADD', AUDIT, '*', unpack(entry))
  end
  return id
end

local function read_label(label)
  local raw = redis.call('HGET', LABELS, label)
  if not raw then return nil end
  return cjson.decode(raw)
end
"""

CREATE_VERSION = (
    _PRELUDE
    + """
-- ARGV[5] content hash, ARGV[6] record JSON, ARGV[7] type, ARGV[8] tags JSON
local existing = redis.call('HGET', HASHES, ARGV[5])
if existing then
  return {0, existing, redis.call('HGET', VERSIONS, existing), redis.call('HGETALL', LABELS)}
end
local version = redis.call('HLEN', VERSIONS) + 1
redis.call('HSET', VERSIONS, version, ARGV[6])
redis.call('HSET', HASHES, ARGV[5], version)
redis.call('HSET', LABELS, 'latest', cjson.encode({version = version, updated_at = tonumber(NOW)}))
redis.call('ZADD', NAMES, 0, NAME)
local id = emit('VERSION_CREATED',
  {'version', version, 'label', 'latest', 'previous_version', version - 1})
if version == 1 then
  redis.call('HSET', META, 'created_at', NOW, 'first_event', id)
end
redis.call('HSET', META, 'updated_at', NOW, 'type', ARGV[7], 'tags', ARGV[8])
return {1, tostring(version), ARGV[6]}
"""
)

# Set, split and rollback are one script: they share every check and the rollback stack.
MOVE_LABEL = (
    _PRELUDE
    + """
-- ARGV[5] label, ARGV[6] mode (set | split | rollback), ARGV[7] target: a version (set,
-- rollback), a JSON list of [version, weight] (split), '' (rollback to the previous state);
-- ARGV[8] expected version ('' = no check), ARGV[9] allow_protected ('1'), ARGV[10] the
-- gate id the move was admitted under, ARGV[11] evaluation run ids, ARGV[12] rollback depth
local LABEL, MODE = ARGV[5], ARGV[6]
if redis.call('EXISTS', VERSIONS) == 0 then return {'NO_PROMPT'} end
local current = read_label(LABEL)
local current_version = 0
if current then current_version = tonumber(current.version) end
if ARGV[8] ~= '' and tonumber(ARGV[8]) ~= current_version then
  return {'CAS_MISMATCH', tostring(current_version)}
end
if current and current.protected and ARGV[9] ~= '1' then
  return {'PROTECTED', tostring(current_version)}
end

-- The rollback stack: the states the label left, most recent last.
local back = {}
if current then
  local raw = redis.call('HGET', BACK, LABEL)
  if raw then back = cjson.decode(raw) end
end

local version, splits
if MODE == 'set' then
  version = tonumber(ARGV[7])
elseif MODE == 'split' then
  splits = cjson.decode(ARGV[7])
  local weight = -1
  for i = 1, #splits do
    if tonumber(splits[i][2]) > weight then
      version, weight = tonumber(splits[i][1]), tonumber(splits[i][2])
    end
  end
else
  if not current then return {'NO_LABEL'} end
  if ARGV[7] == '' then
    if #back == 0 then return {'NO_EARLIER', tostring(current_version)} end
    local entry = table.remove(back)
    version, splits = tonumber(entry.v), entry.s
  else
    version = tonumber(ARGV[7])
    -- Rolling back to a state on the stack also forgets the states above it.
    for i = #back, 1, -1 do
      if tonumber(back[i].v) == version and not back[i].s then
        for j = #back, i, -1 do back[j] = nil end
        break
      end
    end
  end
end

local targets = {version}
if splits then
  targets = {}
  for i = 1, #splits do targets[i] = tonumber(splits[i][1]) end
end
for i = 1, #targets do
  if redis.call('HEXISTS', VERSIONS, targets[i]) == 0 then
    return {'NO_VERSION', tostring(targets[i]), tostring(redis.call('HLEN', VERSIONS))}
  end
end

-- A gated label takes a version only if the move was admitted under its current gate, or
-- if the label holds that version already. Rollbacks are exempt: they return to versions
-- the label held before.
if MODE ~= 'rollback' and current and current.gate_id and current.gate_id ~= ARGV[10] then
  local held = {[current_version] = true}
  if current.splits then
    for i = 1, #current.splits do held[tonumber(current.splits[i][1])] = true end
  end
  for i = 1, #targets do
    if not held[targets[i]] then return {'GATED', current.gate_id, tostring(targets[i])} end
  end
end

if MODE ~= 'rollback' and current then
  local unchanged = not splits and not current.splits and version == current_version
  if not unchanged then
    back[#back + 1] = {v = current_version, s = current.splits}
    while #back > tonumber(ARGV[12]) do table.remove(back, 1) end
  end
end

local label = {version = version, updated_at = tonumber(NOW)}
if splits and #splits > 1 then label.splits = splits end
if current then
  label.protected = current.protected
  label.gate = current.gate
  label.gate_id = current.gate_id
end
local encoded = cjson.encode(label)
redis.call('HSET', LABELS, LABEL, encoded)
if #back > 0 then
  redis.call('HSET', BACK, LABEL, cjson.encode(back))
else
  redis.call('HDEL', BACK, LABEL)
end
redis.call('HSET', META, 'updated_at', NOW)

local fields = {'version', version, 'label', LABEL, 'previous_version', current_version}
if splits then
  fields[#fields + 1] = 'splits'
  fields[#fields + 1] = cjson.encode(splits)
end
if ARGV[11] ~= '' then
  fields[#fields + 1] = 'run'
  fields[#fields + 1] = ARGV[11]
end
local kinds = {set = 'LABEL_SET', split = 'LABEL_SPLIT', rollback = 'LABEL_ROLLED_BACK'}
local id = emit(kinds[MODE], fields)
return {'OK', encoded, id, tostring(current_version)}
"""
)

PROTECT_LABEL = (
    _PRELUDE
    + """
-- ARGV[5] label, ARGV[6] '1' to protect, '0' to lift protection
if redis.call('EXISTS', VERSIONS) == 0 then return {'NO_PROMPT'} end
local label = read_label(ARGV[5])
if not label then return {'NO_LABEL'} end
if ARGV[6] == '1' then label.protected = true else label.protected = nil end
local encoded = cjson.encode(label)
redis.call('HSET', LABELS, ARGV[5], encoded)
local id = emit('LABEL_PROTECTION_CHANGED', {'version', label.version, 'label', ARGV[5],
  'previous_version', label.version, 'protected', ARGV[6]})
return {'OK', encoded, id}
"""
)

SET_PROMOTION_GATE = (
    _PRELUDE
    + """
-- ARGV[5] label, ARGV[6] gate JSON ('' removes the gate), ARGV[7] allow_protected ('1')
if redis.call('EXISTS', VERSIONS) == 0 then return {'NO_PROMPT'} end
local label = read_label(ARGV[5])
if not label then return {'NO_LABEL'} end
if label.protected and ARGV[7] ~= '1' then return {'PROTECTED', tostring(label.version)} end
local id = emit('PROMOTION_GATE_CHANGED', {'version', label.version, 'label', ARGV[5],
  'previous_version', label.version, 'gate', ARGV[6]})
if ARGV[6] == '' then
  label.gate, label.gate_id = nil, nil
else
  -- The event id names this gate: a move admitted under an older gate is refused.
  label.gate, label.gate_id = cjson.decode(ARGV[6]), id
end
local encoded = cjson.encode(label)
redis.call('HSET', LABELS, ARGV[5], encoded)
return {'OK', encoded, id}
"""
)

DELETE_LABEL = (
    _PRELUDE
    + """
-- ARGV[5] label, ARGV[6] expected version ('' = no check), ARGV[7] allow_protected ('1')
if redis.call('EXISTS', VERSIONS) == 0 then return {'NO_PROMPT'} end
local label = read_label(ARGV[5])
if not label then return {'NO_LABEL'} end
local current_version = tonumber(label.version)
if ARGV[6] ~= '' and tonumber(ARGV[6]) ~= current_version then
  return {'CAS_MISMATCH', tostring(current_version)}
end
if label.protected and ARGV[7] ~= '1' then return {'PROTECTED', tostring(current_version)} end
redis.call('HDEL', LABELS, ARGV[5])
redis.call('HDEL', BACK, ARGV[5])
redis.call('HSET', META, 'updated_at', NOW)
local id = emit('LABEL_DELETED', {'version', 0, 'label', ARGV[5],
  'previous_version', current_version})
return {'OK', id}
"""
)

DELETE_PROMPT = (
    _PRELUDE
    + """
-- ARGV[5] allow_protected ('1'); KEYS[9] the name set of the first key layout
local latest = redis.call('HLEN', VERSIONS)
if latest == 0 then return {'NO_PROMPT'} end
if ARGV[5] ~= '1' then
  local protected = {}
  local labels = redis.call('HGETALL', LABELS)
  for i = 1, #labels, 2 do
    if cjson.decode(labels[i + 1]).protected then protected[#protected + 1] = labels[i] end
  end
  if #protected > 0 then
    table.sort(protected)
    return {'PROTECTED', table.concat(protected, ', ')}
  end
end
redis.call('DEL', VERSIONS, HASHES, LABELS, META, BACK)
redis.call('ZREM', NAMES, NAME)
redis.call('SREM', KEYS[9], NAME)
local id = emit('PROMPT_DELETED', {'version', 0, 'previous_version', latest})
return {'OK', id}
"""
)

# The read on every request's path: label -> version (a split picks an arm) -> record,
# plus the labels that point at that version, in one round trip.
RESOLVE = """
-- KEYS[1] labels, KEYS[2] versions; ARGV[1] label, ARGV[2] version (0: use the label),
-- ARGV[3] point: an integer below 2^53 that picks a split's arm (point mod total weight),
-- ARGV[4] (optional) the label to use when ARGV[1] does not exist
local version = tonumber(ARGV[2])
local all = redis.call('HGETALL', KEYS[1])
local labels = {}
local chosen, fallback
for i = 1, #all, 2 do
  local label = cjson.decode(all[i + 1])
  labels[#labels + 1] = {all[i], label}
  if all[i] == ARGV[1] then chosen = label end
  if all[i] == ARGV[4] then fallback = label end
end
if version == 0 then
  chosen = chosen or fallback
  if not chosen then
    local names = {}
    for i = 1, #labels do names[i] = labels[i][1] end
    table.sort(names)
    return {'NO_LABEL', tostring(redis.call('HLEN', KEYS[2])), table.concat(names, ', ')}
  end
  if chosen.splits then
    local total = 0
    for i = 1, #chosen.splits do total = total + tonumber(chosen.splits[i][2]) end
    local at = tonumber(ARGV[3]) % total
    for i = 1, #chosen.splits do
      local weight = tonumber(chosen.splits[i][2])
      if at < weight then
        version = tonumber(chosen.splits[i][1])
        break
      end
      at = at - weight
    end
  else
    version = tonumber(chosen.version)
  end
end
local record = redis.call('HGET', KEYS[2], version)
if not record then
  return {'NO_VERSION', tostring(redis.call('HLEN', KEYS[2]))}
end
local names = {}
for i = 1, #labels do
  local label = labels[i][2]
  local holds = tonumber(label.version) == version
  if not holds and label.splits then
    for j = 1, #label.splits do
      if tonumber(label.splits[j][1]) == version then holds = true end
    end
  end
  if holds then names[#names + 1] = labels[i][1] end
end
table.sort(names)
return {'OK', tostring(version), record, unpack(names)}
"""

# Moves data of the first key layout (a set of names, no meta hash) into the current one.
MIGRATE = """
-- KEYS[1] the old name set, KEYS[2] the name index; ARGV[1] the prompt key prefix
local names = redis.call('SMEMBERS', KEYS[1])
for _, name in ipairs(names) do
  redis.call('ZADD', KEYS[2], 0, name)
  local prefix = ARGV[1] .. name
  local latest = redis.call('HLEN', prefix .. ':versions')
  if latest > 0 and redis.call('EXISTS', prefix .. ':meta') == 0 then
    local first = cjson.decode(redis.call('HGET', prefix .. ':versions', 1))
    local last = cjson.decode(redis.call('HGET', prefix .. ':versions', latest))
    local tags = '[]'
    if #last.tags > 0 then tags = cjson.encode(last.tags) end
    redis.call('HSET', prefix .. ':meta', 'created_at', first.created_at,
      'updated_at', last.created_at, 'type', last.content.type, 'tags', tags)
  end
end
redis.call('DEL', KEYS[1])
return #names
"""
