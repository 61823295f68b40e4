--[[
  Folds a batch of event-stream entries into the workload hashes, exactly once: the batch is the
  entries that follow the fold cursor (KEYS[4]), and it applies only if the cursor still stands
  where the caller read from (ARGV[1]); it then moves the cursor to the batch's last entry, in the
  same atomic step. A replay, a retry after a crash, or another replica folding the same range
  finds the cursor moved and applies nothing. No consumer group, no XACK: the cursor is the whole
  state. The effects of the batch are summed per key and field and written once each at the end
  (a batch of 200 completions on four agents costs a few HINCRBY, not 200 of each). Nothing after
  the cursor moves can raise an error (writes that could fail on a hand-edited key go through
  pcall), so an entry is never passed over unapplied. The effects were computed by the caller
  (pure code in @worksteal/protocol); the checks that need Redis's state are made here:
    - a task event must carry the marker its task script left in the task's record
      (field 'ev:<stream id>'), so a forged entry, which has none, is dead-lettered instead of
      counted. The marker is checked (HEXISTS), not consumed: the compare-and-set already applies
      each entry once (see below), and a marker names one stream id, which no other entry can have;
      it stays in the record until the record expires (docs/design.md, "Marks");
    - an agent event must name a registered agent;
    - its time must be near the Redis clock.
  A dead letter keeps the source id, the reason and a bounded copy of the entry, copied here from
  the stream itself so that no byte of it ever passes through JSON.

  Keys of task, agent and workload hashes are derived from ARGV[2] (all share the namespace's
  hash tag).

  Every argument is read and checked before the cursor moves (a malformed one refuses the whole
  batch, applying nothing). The entries' ids must each follow the one before, the first following
  ARGV[1]: a call applies only entries in (the cursor's id, its new id], ranges that never overlap
  from one call to the next, so no entry is applied twice though its marker stays (with a consumed
  marker a repeated id was refused by the marker; with a checked one it must be refused here).
  The batch is flat arguments, not JSON: decoding costs no table per entry, and each key and field
  is sent once per batch (a "slot"), not once per entry.

  KEYS[1] event stream         ws:{ns}:events
  KEYS[2] dead-letter stream   ws:{ns}:events:dead
  KEYS[3] metrics hash         ws:{ns}:metrics
  KEYS[4] fold cursor          ws:{ns}:fold   (hash: id, folded; made by foldCursor-2.lua)

  ARGV[1] the cursor's id the batch follows (the caller read the entries after it)
  ARGV[2] key prefix           ws:{ns}:
  ARGV[3] most fields the per-type durations hash may hold (new types beyond it are not counted)
  ARGV[4] how far ahead of the Redis clock an event's time may be, ms
  ARGV[5] how far behind the Redis clock an event's time may be, ms
  ARGV[6] slot count S
  ARGV[7 .. 6+2S] the slots: key suffix, field (slot s is ARGV[5+2s], ARGV[6+2s])
  then the entries, in stream order, one after another, each
            streamId, 'd', reason (printable ASCII)                    dead on arrival
         or streamId, 't' | 'a', task id | agent id, at (ms),
            incr count I, I x (slot, integer delta),
            gauge count G, G x (slot, value, at)                       kept if newest

  Returns {applied, deadLettered, alreadyFolded}: alreadyFolded is the whole batch when the
  cursor did not stand at ARGV[1] (nothing applied), else 0.
]]
--- @include "redisNow"
--- @include "foldWrites"
local streamKey, deadKey, metricsKey, cursorKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local after, prefix = ARGV[1], ARGV[2]
local maxDurationFields, aheadMs, behindMs = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local DEAD_FIELDS_KEPT, DEAD_VALUE_BYTES = 8, 16384
local durationsKey = prefix .. 'durations'

-- Reading the batch. Entry i is ids[i], kinds[i], subjects[i] (task or agent id, or the dead
-- reason) and ats[i]; its increments are ops opFrom[i] .. opTo[i], its gauges gaugeFrom[i] .. gaugeTo[i].
local function malformed(at, what)
  error('fold: ARGV[' .. at .. '] ' .. what)
end
local function text(at)
  local value = ARGV[at]
  if value == nil then malformed(at, 'is missing') end
  return value
end
local function number(at)
  local value = tonumber(text(at))
  if value == nil then malformed(at, 'is not a number') end
  return value
end
local function count(at)
  local value = number(at)
  if value < 0 or value % 1 ~= 0 then malformed(at, 'is not a count') end
  return value
end

local slotCount = count(6)
local slotKeys, slotFields = {}, {}
for s = 1, slotCount do
  slotKeys[s], slotFields[s] = prefix .. text(5 + 2 * s), text(6 + 2 * s)
end
local function slot(at)
  local s = count(at)
  if s < 1 or s > slotCount then malformed(at, 'is not a slot') end
  return s
end

-- Each id after the one before (the first after the cursor, ARGV[1]): parsed to numbers, no table
-- per entry (a string comparison would put 9-0 after 10-0).
local previousMs, previousSeq = -1, -1
local function idAfterPrevious(at, entry)
  local id = text(at)
  local ms, seq = string.match(id, '^(%d+)%-(%d+)$')
  if ms == nil then malformed(at, 'is not a stream id') end
  ms, seq = tonumber(ms), tonumber(seq)
  if ms < previousMs or (ms == previousMs and seq <= previousSeq) then
    malformed(at, 'does not follow ' .. (entry == 1 and 'the cursor ' .. ARGV[1] or 'the entry before it'))
  end
  previousMs, previousSeq = ms, seq
  return id
end
idAfterPrevious(1, 0)

local ids, kinds, subjects, ats = {}, {}, {}, {}
local opFrom, opTo, opSlot, opDelta = {}, {}, {}, {}
local gaugeFrom, gaugeTo, gaugeSlot, gaugeValue, gaugeAt = {}, {}, {}, {}, {}
local entryCount, ops, gauges = 0, 0, 0
local arg = 7 + 2 * slotCount
while arg <= #ARGV do
  entryCount = entryCount + 1
  local i = entryCount
  ids[i], kinds[i], subjects[i] = idAfterPrevious(arg, i), text(arg + 1), text(arg + 2)
  if kinds[i] == 'd' then
    arg = arg + 3
  elseif kinds[i] == 't' or kinds[i] == 'a' then
    ats[i] = number(arg + 3)
    local incrs = count(arg + 4)
    arg = arg + 5
    opFrom[i] = ops + 1
    for _ = 1, incrs do
      ops = ops + 1
      opSlot[ops], opDelta[ops] = slot(arg), number(arg + 1)
      -- HINCRBY would refuse it after the cursor moved.
      if opDelta[ops] % 1 ~= 0 then malformed(arg + 1, 'is not an integer') end
      arg = arg + 2
    end
    opTo[i] = ops
    local gaugeCount = count(arg)
    arg = arg + 1
    gaugeFrom[i] = gauges + 1
    for _ = 1, gaugeCount do
      gauges = gauges + 1
      number(arg + 1)
      gaugeSlot[gauges], gaugeValue[gauges], gaugeAt[gauges] = slot(arg), ARGV[arg + 1], number(arg + 2)
      arg = arg + 3
    end
    gaugeTo[i] = gauges
  else
    malformed(arg + 1, 'is not an entry kind')
  end
end

local now = redisNow()
local applied, dead = 0, 0

local function countMetric(metric, n)
  foldCountMetric(metricsKey, metric, n)
end

local function deadLetter(id, reason)
  local args = {deadKey, '*', 'sourceId', id, 'reason', reason}
  local source = redis.pcall('XRANGE', streamKey, id, id)
  if type(source) ~= 'table' or source.err then source = {} end
  local fields = (source[1] and source[1][2]) or {}
  args[#args + 1] = 'fieldCount'
  args[#args + 1] = tostring(math.floor(#fields / 2))
  for f = 1, math.min(#fields, DEAD_FIELDS_KEPT * 2) do
    args[#args + 1] = string.sub(fields[f], 1, DEAD_VALUE_BYTES)
  end
  -- An odd count (cannot come from a stream entry, but never let XADD fail on it).
  if #args % 2 == 1 then args[#args + 1] = '' end
  local ok = redis.pcall('XADD', unpack(args))
  -- The dead-letter key hand-edited into another type: counted, never an error after the cursor moved.
  if type(ok) == 'table' and ok.err then countMetric('fold.dead_letters_lost', 1) end
end

local function refusal(i)
  local at = ats[i]
  if at > now + aheadMs then
    return 'event time is ' .. (at - now) .. ' ms ahead of the Redis clock'
  end
  if at < now - behindMs then
    return 'event time is ' .. (now - at) .. ' ms behind the Redis clock'
  end
  local subject = subjects[i]
  if kinds[i] == 't' then
    local marked = redis.pcall('HEXISTS', prefix .. 'task:' .. subject, 'ev:' .. ids[i])
    if type(marked) == 'table' then return 'the record of task ' .. subject .. ' is not a hash' end
    if marked == 0 then
      return 'no task script wrote this event for task ' .. subject .. ' (forged, replayed, or its record expired)'
    end
  elseif redis.call('EXISTS', prefix .. 'agent:' .. subject) == 0 then
    return 'agent ' .. subject .. ' is not registered'
  end
  return nil
end

local function incr(key, field, delta)
  foldIncr(metricsKey, durationsKey, maxDurationFields, key, field, delta)
end

local function gauge(key, field, value, at)
  local seen = redis.pcall('HGET', key, 'metricsAt')
  if type(seen) == 'table' then
    countMetric('fold.writes_failed', 1)
    return
  end
  if at >= (tonumber(seen) or 0) then
    local ok = redis.pcall('HSET', key, field, value, 'metricsAt', at)
    if type(ok) == 'table' and ok.err then countMetric('fold.writes_failed', 1) end
  end
end

if entryCount == 0 then return {0, 0, 0} end
-- The compare-and-set: someone else folded from here (or the cursor is not made yet).
if redis.call('HGET', cursorKey, 'id') ~= after then return {0, 0, entryCount} end
local last = ids[entryCount]
redis.call('HSET', cursorKey, 'id', last)
-- pcall: a count a hand edit made no integer must not stop the effects below once the cursor moved.
redis.pcall('HINCRBY', cursorKey, 'folded', entryCount)

-- The batch's effects, summed per slot; the newest gauge per slot (an index into the gauges).
-- Slots are written in first-seen order, so that the writes (and the durations cap) do not
-- depend on table order.
local sums, sumOrder, newest, gaugeOrder = {}, {}, {}, {}
local function note(seen, order, s)
  if seen[s] == nil then order[#order + 1] = s end
end

for i = 1, entryCount do
  local reason = (kinds[i] == 'd' and subjects[i]) or refusal(i)
  if reason then
    deadLetter(ids[i], reason)
    dead = dead + 1
  else
    for o = opFrom[i], opTo[i] do
      local s = opSlot[o]
      note(sums, sumOrder, s)
      sums[s] = (sums[s] or 0) + opDelta[o]
    end
    for g = gaugeFrom[i], gaugeTo[i] do
      local s = gaugeSlot[g]
      note(newest, gaugeOrder, s)
      if newest[s] == nil or gaugeAt[g] >= gaugeAt[newest[s]] then newest[s] = g end
    end
    applied = applied + 1
  end
end

for _, s in ipairs(sumOrder) do
  -- Even a sum of 0: the field then exists, as a reader of a type's sum and count expects.
  incr(slotKeys[s], slotFields[s], sums[s])
end
for _, s in ipairs(gaugeOrder) do
  local g = newest[s]
  gauge(slotKeys[s], slotFields[s], gaugeValue[g], gaugeAt[g])
end
return {applied, dead, 0}
