--[[
  Folds a batch of event-stream entries into the workload hashes, exactly once: an entry takes
  effect (applied or dead-lettered) only when this script's XACK acknowledged it. Another
  replica folding the same entry, or a retry after a crash, finds it already acknowledged and
  does nothing. When every entry of the batch is still pending in the group (the usual case:
  one XPENDING over the batch's range names exactly its ids), one XACK acknowledges them all;
  otherwise each entry gets its own XACK and counts only if that one returned 1. The effects of
  the entries acknowledged here are summed per key and field and written once each at the end
  (a batch of 200 completions on four agents costs a few HINCRBY, not 200 of each); the script
  is atomic, so nobody sees a batch half applied. Nothing after the first XACK can raise an
  error (writes that could fail on a hand-edited key go through pcall), so an entry is never
  left acknowledged but unapplied. The effects were computed by the caller (pure code in
  @worksteal/protocol); the checks that need Redis's state are made here:
    - a task event must carry the marker its task script left in the task's record
      (field 'ev:<stream id>'); the marker is consumed, so a forged or replayed entry, which
      has none, is dead-lettered instead of counted;
    - an agent event must name a registered agent;
    - its time must be near the Redis clock.
  A dead letter keeps the source id, the reason and a bounded copy of the entry, copied here from
  the stream itself so that no byte of it ever passes through JSON.

  Keys of task, agent and workload hashes are derived from ARGV[2] (all share the namespace's
  hash tag).

  KEYS[1] event stream         ws:{ns}:events
  KEYS[2] dead-letter stream   ws:{ns}:events:dead
  KEYS[3] metrics hash         ws:{ns}:metrics

  ARGV[1] consumer group
  ARGV[2] key prefix           ws:{ns}:
  ARGV[3] JSON array of entries, each
            {"id": streamId, "incr": [[suffix, field, delta], ...],
             "gauge": [[suffix, field, value, at], ...], "task": taskId?, "agent": agentId?, "at": ms}
          or {"id": streamId, "dead": reason (printable ASCII)}
  ARGV[4] most fields the per-type durations hash may hold (new types beyond it are not counted)
  ARGV[5] how far ahead of the Redis clock an event's time may be, ms
  ARGV[6] how far behind the Redis clock an event's time may be, ms

  Returns {applied, deadLettered, alreadyAcknowledged}
]]
--- @include "redisNow"
--- @include "streamIds"
local streamKey, deadKey, metricsKey = KEYS[1], KEYS[2], KEYS[3]
local group, prefix = ARGV[1], ARGV[2]
local entries = cjson.decode(ARGV[3])
local maxDurationFields, aheadMs, behindMs = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local DEAD_FIELDS_KEPT, DEAD_VALUE_BYTES = 8, 16384
local now = redisNow()
local applied, dead, skipped = 0, 0, 0

local durationsKey = prefix .. 'durations'

local function count(metric, n)
  redis.pcall('HINCRBY', metricsKey, metric, n)
end

local function deadLetter(id, reason)
  local args = {deadKey, '*', 'sourceId', id, 'reason', reason}
  local source = redis.pcall('XRANGE', streamKey, id, id)
  if type(source) ~= 'table' or source.err then source = {} end
  local fields = (source[1] and source[1][2]) or {}
  args[#args + 1] = 'fieldCount'
  args[#args + 1] = tostring(math.floor(#fields / 2))
  for i = 1, math.min(#fields, DEAD_FIELDS_KEPT * 2) do
    args[#args + 1] = string.sub(fields[i], 1, DEAD_VALUE_BYTES)
  end
  -- An odd count (cannot come from a stream entry, but never let XADD fail on it).
  if #args % 2 == 1 then args[#args + 1] = '' end
  local ok = redis.pcall('XADD', unpack(args))
  -- The dead-letter key hand-edited into another type: counted, never an error after the XACK.
  if type(ok) == 'table' and ok.err then count('fold.dead_letters_lost', 1) end
end

local function refusal(entry)
  if type(entry.at) ~= 'number' then return 'event has no time' end
  if entry.at > now + aheadMs then
    return 'event time is ' .. (entry.at - now) .. ' ms ahead of the Redis clock'
  end
  if entry.at < now - behindMs then
    return 'event time is ' .. (now - entry.at) .. ' ms behind the Redis clock'
  end
  if entry.task then
    local marked = redis.pcall('HDEL', prefix .. 'task:' .. entry.task, 'ev:' .. entry.id)
    if type(marked) == 'table' then return 'the record of task ' .. entry.task .. ' is not a hash' end
    if marked == 0 then
      return 'no task script wrote this event for task ' .. entry.task .. ' (forged, replayed, or its record expired)'
    end
  elseif entry.agent then
    if redis.call('EXISTS', prefix .. 'agent:' .. entry.agent) == 0 then
      return 'agent ' .. entry.agent .. ' is not registered'
    end
  end
  return nil
end

local function incr(key, field, delta)
  if key == durationsKey then
    local known, size = redis.pcall('HEXISTS', key, field), redis.pcall('HLEN', key)
    if type(known) == 'number' and type(size) == 'number' and known == 0 and size >= maxDurationFields then
      count('fold.task_types_not_counted', 1)
      return
    end
  end
  local ok = redis.pcall('HINCRBY', key, field, delta)
  if type(ok) == 'table' and ok.err then
    -- Not an integer (a hand edit) or not a hash: start the field over from this delta.
    local reset = redis.pcall('HSET', key, field, delta)
    count((type(reset) == 'table' and reset.err) and 'fold.writes_failed' or 'fold.fields_reset', 1)
  end
end

local function gauge(key, field, value, at)
  local seen = redis.pcall('HGET', key, 'metricsAt')
  if type(seen) == 'table' then
    count('fold.writes_failed', 1)
    return
  end
  if at >= (tonumber(seen) or 0) then
    local ok = redis.pcall('HSET', key, field, value, 'metricsAt', at)
    if type(ok) == 'table' and ok.err then count('fold.writes_failed', 1) end
  end
end

-- The batch's effects, summed: sums[suffix][field] = delta; newest[suffix][field] = {value, at}.
-- Keys in first-seen order, so that the writes (and the durations cap) do not depend on table order.
local sums, sumOrder, newest, gaugeOrder = {}, {}, {}, {}
local function add(suffix, field, delta)
  local fields = sums[suffix]
  if not fields then
    fields = {}
    sums[suffix] = fields
    sumOrder[#sumOrder + 1] = suffix
  end
  if fields[field] == nil then
    fields[field] = 0
    fields[#fields + 1] = field
  end
  fields[field] = fields[field] + delta
end
local function observe(suffix, field, value, at)
  local fields = newest[suffix]
  if not fields then
    fields = {}
    newest[suffix] = fields
    gaugeOrder[#gaugeOrder + 1] = suffix
  end
  if fields[field] == nil then fields[#fields + 1] = field end
  if fields[field] == nil or at >= fields[field][2] then fields[field] = {value, at} end
end


-- Whether every entry of the batch, each named once, is pending in the group: XPENDING over the
-- batch's id range, limited to its size, then names exactly its ids.
local function allPending()
  if #entries == 0 then return false end
  local ids, first, last = {}, nil, nil
  for _, entry in ipairs(entries) do
    if type(entry.id) ~= 'string' or ids[entry.id] or not string.match(entry.id, '^%d+%-%d+$') then return false end
    ids[entry.id] = true
    local id = parseStreamId(entry.id)
    if first == nil or streamIdBefore(id, first[2]) then first = {entry.id, id} end
    if last == nil or streamIdBefore(last[2], id) then last = {entry.id, id} end
  end
  local pending = redis.call('XPENDING', streamKey, group, first[1], last[1], #entries)
  if #pending ~= #entries then return false end
  for _, p in ipairs(pending) do
    if not ids[p[1]] then return false end
  end
  return true
end

local acknowledged
if allPending() then
  -- In chunks: unpack passes its values on Lua's C stack (a few thousand at most).
  for from = 1, #entries, 1000 do
    local ids = {}
    for i = from, math.min(#entries, from + 999) do ids[#ids + 1] = entries[i].id end
    redis.call('XACK', streamKey, group, unpack(ids))
  end
  acknowledged = function() return true end
else
  acknowledged = function(entry) return redis.call('XACK', streamKey, group, entry.id) == 1 end
end

for _, entry in ipairs(entries) do
  if acknowledged(entry) then
    local reason = entry.dead or refusal(entry)
    if reason then
      deadLetter(entry.id, reason)
      dead = dead + 1
    else
      for _, op in ipairs(entry.incr) do add(op[1], op[2], op[3]) end
      for _, op in ipairs(entry.gauge) do observe(op[1], op[2], op[3], op[4]) end
      applied = applied + 1
    end
  else
    skipped = skipped + 1
  end
end

for _, suffix in ipairs(sumOrder) do
  local fields = sums[suffix]
  for _, field in ipairs(fields) do
    -- Even a sum of 0: the field then exists, as a reader of a type's sum and count expects.
    incr(prefix .. suffix, field, fields[field])
  end
end
for _, suffix in ipairs(gaugeOrder) do
  local fields = newest[suffix]
  for _, field in ipairs(fields) do gauge(prefix .. suffix, field, fields[field][1], fields[field][2]) end
end
return {applied, dead, skipped}
