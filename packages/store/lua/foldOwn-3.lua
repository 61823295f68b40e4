--[[
  The fold's fast path: folds the task events that follow the fold cursor without the caller
  reading them. Task events are written only by the task scripts (includes/appendTaskEvent.lua,
  cjson.encode), and one carrying its marker (field 'ev:<stream id>' in the task's record) is
  proven to be theirs; so its content needs no validation beyond the bounds the event schema
  sets, which are checked here (a conservative subset: anything this script does not accept
  whole is left to fold-4.lua, which the caller reaches with the full validation).
  What it trusts: the marker, for who wrote an entry; never the entry's text. Each entry is
  decoded and checked against the schema whatever its marker says, so that both paths give one
  verdict even on a marked entry no script of ours wrote as it stands (a script called with
  arguments the store would refuse, a hand-made mark); cjson.decode is the cheaper part of that
  (reading the text with string patterns instead, without decoding, measured slower).

  From the entry after the cursor on, it applies each entry that is exactly one field 'event',
  at most ARGV[7] bytes, whose JSON decodes to a task event of a known kind with exactly the
  schema's fields in its bounds (text in ASCII only; durations in whole ms), whose time is
  within the window fold-4.lua allows, and whose marker exists. It STOPS at the first entry
  that is anything else (an agent event, a forged or replayed task event, a malformed entry):
  that entry and what follows it up to the next FAST_RUN task events in a row are the caller's to
  fold the slow way (XREAD, validation, dead letters with their reason, fold-4.lua); then it is
  called again.
  The effects are those of effectsOf (@worksteal/protocol effects.ts; a test holds the two
  together), summed per key and field and written once each in first-seen order, the per-type
  durations capped as in fold-4.lua (includes/foldWrites.lua).

  Exactly once as fold-4.lua: it reads the entries after the cursor itself, and moves the cursor
  to the last entry it applied, adding the count folded, in the same atomic step. Nothing can
  raise an error once it has written (the count goes through pcall, the writes a hand edit could
  fail too: includes/foldWrites.lua). It reads only entries after the cursor and the cursor
  only moves on, so no entry is applied twice: the marker is checked (HEXISTS), not consumed, as
  in fold-4.lua (why that is sound: docs/design.md, "Marks"). So the compare-and-set with
  ARGV[1] is the caller's check, not what makes it exact: with ARGV[1] '' it folds from wherever
  the cursor stands, as a call pipelined behind another does (the call ahead moves the cursor to
  an id its caller does not know yet).

  KEYS[1] event stream   ws:{ns}:events
  KEYS[2] metrics hash   ws:{ns}:metrics
  KEYS[3] fold cursor    ws:{ns}:fold   (hash: id, folded; made by foldCursor-2.lua)

  ARGV[1] the cursor's id the caller expects, or '' for wherever it stands
  ARGV[2] key prefix     ws:{ns}:
  ARGV[3] most fields the per-type durations hash may hold
  ARGV[4] how far ahead of the Redis clock an event's time may be, ms
  ARGV[5] how far behind the Redis clock an event's time may be, ms
  ARGV[6] most entries to look at (read CHUNK at a time: those applied, then those sizing the slow run)
  ARGV[7] largest entry, bytes (its field names and values together)

  Returns {-1} when the cursor does not stand at ARGV[1] or is missing (nothing applied), else
    {applied, the cursor's id now, the id it stopped at or '', the slow run: how many entries from
     the stop on are for the slow path (0 when it did not stop: the stop, and what follows it up to
     the next FAST_RUN task events in a row), waits, completions, failures}
  where, for the replica's own metrics, waits are the waitMs the entries applied carry (each task's
  once: on the event ending its first finished run, or an earlier agent's first task:started),
  completions are {task type, durationMs} flat, failures {task type, 1 if final else 0,
  durationMs or -1 when the task never started (fromState 'queued')} flat.
]]
--- @include "redisNow"
--- @include "foldWrites"
local streamKey, metricsKey, cursorKey = KEYS[1], KEYS[2], KEYS[3]
local after, prefix = ARGV[1], ARGV[2]
local maxDurationFields, aheadMs, behindMs = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local limit, maxEntryBytes = tonumber(ARGV[6]), tonumber(ARGV[7])
local durationsKey, taskPrefix = prefix .. 'durations', prefix .. 'task:'

local cursor = redis.call('HGET', cursorKey, 'id')
if not cursor or (after ~= '' and cursor ~= after) then return {-1} end
after = cursor

-- The event schema's bounds (@worksteal/protocol events.ts, ids.ts), or a stricter subset. Written
-- out per kind: a closure called per field cost about 0.3 µs more per event (of some 6 a call spends).
local find = string.find
local MAX_SAFE_INTEGER, MAX_DURATION_MS = 9007199254740991, 7 * 24 * 3600 * 1000
-- Run times above this count as this in durationSqSum (@worksteal/protocol effects.ts, SQUARED_DURATION_CAP_MS).
local SQUARED_DURATION_CAP_MS = 2 ^ 26
local function isInteger(value, min)
  return type(value) == 'number' and value % 1 == 0 and value >= min and value <= MAX_SAFE_INTEGER
end
local function isId(value, max)
  return type(value) == 'string' and #value >= 1 and #value <= max and find(value, '^[A-Za-z0-9_.%-]+$') ~= nil
end
-- A call meets the same few agents again and again: each is checked once.
local knownAgents = {}
local function isAgentId(value)
  if knownAgents[value] then return true end
  local valid = isId(value, 64)
  if valid then knownAgents[value] = true end
  return valid
end
local function isAgentOrNone(value) return value == '' or isAgentId(value) end
-- ASCII only: its length in bytes is JavaScript's length, and it holds no lone surrogate.
local function isAscii(value, min, max)
  return type(value) == 'string' and #value >= min and #value <= max and find(value, '[\128-\255]') == nil
end
-- Task types repeat as agents do: each is checked once.
local knownTypes = {}
local function isTaskType(value)
  if knownTypes[value] then return true end
  local valid = isAscii(value, 1, 64)
  if valid then knownTypes[value] = true end
  return valid
end
-- Whole ms only (what the scripts write): the metrics get it back as a Redis integer.
local function isDuration(value) return isInteger(value, 0) and value <= MAX_DURATION_MS end
local function isState(value) return value == 'queued' or value == 'running' end
local function isBoolean(value) return type(value) == 'boolean' end

-- Per kind: whether an event of that kind, with `fields` keys in all, has exactly the schema's
-- fields (the count, and every one it names present) in its bounds.
local KINDS = {
  ['task:assigned'] = function(e, fields)
    return fields == 5 and isId(e.taskId, 128) and isAgentId(e.agentId) and isInteger(e.epoch, 0) and isInteger(e.at, 0)
  end,
  ['task:started'] = function(e, fields)
    local waitMs = e.waitMs
    return fields == (waitMs == nil and 7 or 8) and (waitMs == nil or isInteger(waitMs, 0)) and isId(e.taskId, 128)
      and isAgentId(e.agentId) and isInteger(e.epoch, 0) and isInteger(e.attempt, 1) and isBoolean(e.restarted) and isInteger(e.at, 0)
  end,
  ['task:completed'] = function(e, fields)
    local waitMs = e.waitMs
    return fields == (waitMs == nil and 7 or 8) and (waitMs == nil or isInteger(waitMs, 0)) and isId(e.taskId, 128)
      and isAgentId(e.agentId) and isTaskType(e.taskType) and isInteger(e.epoch, 0) and isDuration(e.durationMs) and isInteger(e.at, 0)
  end,
  ['task:failed'] = function(e, fields)
    local fromState, waitMs = e.fromState, e.waitMs
    return fields == 9 + (fromState == nil and 0 or 1) + (waitMs == nil and 0 or 1) and (fromState == nil or isState(fromState))
      and (waitMs == nil or isInteger(waitMs, 0)) and isId(e.taskId, 128)
      and isAgentId(e.agentId) and isTaskType(e.taskType) and isInteger(e.epoch, 0) and isDuration(e.durationMs)
      and isBoolean(e.final) and isAscii(e.error, 0, 2000) and isInteger(e.at, 0)
  end,
  ['task:stolen'] = function(e, fields)
    return fields == 7 and isId(e.taskId, 128) and isAgentId(e.from) and isAgentId(e.to) and isInteger(e.epoch, 0)
      and isAscii(e.directiveId, 1, 128) and isInteger(e.at, 0)
  end,
  ['task:reassigned'] = function(e, fields)
    return fields == 7 and isId(e.taskId, 128) and isAgentId(e.from) and isAgentOrNone(e.to) and isState(e.fromState)
      and isInteger(e.epoch, 0) and isInteger(e.at, 0)
  end,
  ['task:cancelled'] = function(e, fields)
    local waitMs = e.waitMs
    return fields == (waitMs == nil and 6 or 7) and (waitMs == nil or isInteger(waitMs, 0)) and isId(e.taskId, 128)
      and isAgentOrNone(e.agentId) and isState(e.fromState) and isInteger(e.epoch, 0) and isInteger(e.at, 0)
  end,
}

-- The task event an entry holds, when it is certainly one the schema accepts; else nil.
local function taskEventOf(fields)
  if #fields ~= 2 or fields[1] ~= 'event' or #fields[1] + #fields[2] > maxEntryBytes then return nil end
  local ok, event = pcall(cjson.decode, fields[2])
  if not ok or type(event) ~= 'table' then return nil end
  local valid = KINDS[event.kind]
  if valid == nil then return nil end
  local count = 0
  for _ in pairs(event) do count = count + 1 end
  if not valid(event, count) then return nil end
  return event
end

local now = redisNow()
-- The time window, as fold-4.lua checks it. A marked event's time is the Redis clock at its
-- write, so it falls outside only after a failover to a clock far behind (ahead) or a stream left
-- unfolded for days (behind); checked all the same, so that both paths give one verdict.
local latest, earliest = now + aheadMs, now - behindMs
local function applicable(id, event)
  local at = event.at
  if at > latest or at < earliest then return false end
  return redis.pcall('HEXISTS', taskPrefix .. event.taskId, 'ev:' .. id) == 1
end

-- Sums per key and field, in first-seen order (so the writes, and the durations cap, do not
-- depend on table order). Keyed by key, then field: no name is built per event.
local sums, order = {}, {}
local function add(key, field, delta)
  local fields = sums[key]
  if fields == nil then
    fields = {}
    sums[key] = fields
  end
  local slot = fields[field]
  if slot == nil then
    slot = {key, field, 0}
    fields[field] = slot
    order[#order + 1] = slot
  end
  slot[3] = slot[3] + delta
end
-- The names an event's effects write to, made once per agent and per task type.
local workloadKeys, typeFields = {}, {}
local function workloadOf(agentId)
  local key = workloadKeys[agentId]
  if key == nil then
    key = prefix .. 'workload:' .. agentId
    workloadKeys[agentId] = key
  end
  return key
end
local function typeFieldsOf(taskType)
  local names = typeFields[taskType]
  if names == nil then
    names = {taskType .. ':sum', taskType .. ':count'}
    typeFields[taskType] = names
  end
  return names
end

local waits, completions, failures = {}, {}, {}
local function apply(event)
  local kind = event.kind
  if kind == 'task:completed' then
    local w, names = workloadOf(event.agentId), typeFieldsOf(event.taskType)
    add(w, 'done', 1)
    add(w, 'durationSumMs', event.durationMs)
    add(w, 'durationCount', 1)
    local squared = math.min(event.durationMs, SQUARED_DURATION_CAP_MS)
    add(w, 'durationSqSum', squared * squared)
    add(durationsKey, names[1], event.durationMs)
    add(durationsKey, names[2], 1)
    completions[#completions + 1] = event.taskType
    completions[#completions + 1] = event.durationMs
  elseif kind == 'task:failed' then
    if event.final then add(workloadOf(event.agentId), 'failed', 1) end
    failures[#failures + 1] = event.taskType
    failures[#failures + 1] = event.final and 1 or 0
    failures[#failures + 1] = event.fromState == 'queued' and -1 or event.durationMs
  elseif kind == 'task:stolen' then
    add(workloadOf(event.from), 'stolenOut', 1)
    add(workloadOf(event.to), 'stolenIn', 1)
  elseif kind == 'task:cancelled' then
    add(metricsKey, 'tasksCancelled', 1)
  end
  -- task:assigned, task:reassigned and task:started (earlier agents'): the marker is all they carry
  -- for the fold. A task's wait rides on one of its events (the one ending its first finished run,
  -- or an earlier agent's first task:started), of the kinds whose checks above allow it.
  if event.waitMs ~= nil then waits[#waits + 1] = event.waitMs end
end

-- Entries read per XRANGE: a call that stops early has read little past its stop.
local CHUNK = 64
-- Task events in a row that end a slow run: from there the fast path takes over again. Shorter
-- runs go the slow way with the entries around them (fold-4.lua folds task events as well), so a
-- stream where task and agent events alternate costs one slow batch per ARGV[6] entries, not
-- three calls per two entries.
local FAST_RUN = 8

local function looksLikeTaskEvent(fields)
  return fields[2] ~= nil and string.find(fields[2], '"kind":"task:', 1, true) ~= nil
end

-- Applies entries until one cannot be; then sizes the slow run from it: the stop and what follows
-- up to the next FAST_RUN task events in a row (or as far as ARGV[6] entries looked at reach).
-- The slow run only sizes the caller's next read: whatever the slow path takes, it folds correctly.
local applied, last, looked, readFrom = 0, after, 0, after
local stopId, slowRun, taskRun, sized = '', 0, 0, false
while not sized and looked < limit do
  local entries = redis.call('XRANGE', streamKey, '(' .. readFrom, '+', 'COUNT', math.min(CHUNK, limit - looked))
  if #entries == 0 then break end
  looked, readFrom = looked + #entries, entries[#entries][1]
  for i = 1, #entries do
    local id, fields = entries[i][1], entries[i][2]
    if stopId == '' then
      local event = taskEventOf(fields)
      if event ~= nil and applicable(id, event) then
        apply(event)
        applied, last = applied + 1, id
      else
        stopId, slowRun = id, 1
      end
    else
      slowRun = slowRun + 1
      taskRun = looksLikeTaskEvent(fields) and taskRun + 1 or 0
      if taskRun == FAST_RUN then
        slowRun = slowRun - FAST_RUN
        sized = true
        break
      end
    end
  end
  if #entries < CHUNK then break end
end

if applied > 0 then
  redis.call('HSET', cursorKey, 'id', last)
  -- pcall: a count a hand edit made no integer must not stop the effects below once the cursor moved.
  redis.pcall('HINCRBY', cursorKey, 'folded', applied)
  for _, slot in ipairs(order) do
    -- Even a sum of 0: the field then exists, as a reader of a type's sum and count expects.
    foldIncr(metricsKey, durationsKey, maxDurationFields, slot[1], slot[2], slot[3])
  end
end
return {applied, last, stopId, slowRun, waits, completions, failures}
