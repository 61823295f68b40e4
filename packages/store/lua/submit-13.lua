--[[
  Creates a task record and, when it has an owner, adds the task's BullMQ job to the owner's queue
  (appending `task:assigned` only when the owner's backlog is then a power of two, see
  announcesQueued in includes/agentLoads.lua): record and job in one atomic call, so no crash
  leaves a record without its job. The job is added by BullMQ's own addPrioritizedJob script (pasted
  unchanged, see scripts.ts), with the keys and arguments BullMQ's Queue.add would send it.
  Idempotent: a task id that exists is left as it is and its record is returned (no job is
  added: the caller re-adds one a crash of an earlier version may have left missing).
  A new task's owner must take tasks (registered, alive, not draining) and have every required
  capability: a task is never queued where nobody will run it.

  KEYS[1] task record hash        ws:{ns}:task:<id>
  KEYS[2] event stream            ws:{ns}:events
  KEYS[3] where the task waits: the owner's queued set ws:{ns}:agent:<id>:queued, or, when
          there is no owner, the unassigned tasks zset ws:{ns}:unassigned, or for a delayed
          task the delayed tasks zset ws:{ns}:delayed (score: when it is due)
  KEYS[4] the owner's agent hash ws:{ns}:agent:<id> (without an owner, any key: unused)
  KEYS[5..13] the owner's BullMQ queue keys, as addPrioritizedJob takes them: marker, meta, id,
          prioritized, delayed, completed, active, events, pc (without an owner, any keys: unused)

  ARGV[1] task id
  ARGV[2] owner agent id, or '' when no live agent can run it (the task waits, unassigned)
  ARGV[3] type
  ARGV[4] payload (JSON)
  ARGV[5] required capabilities (JSON array)
  ARGV[6] priority
  ARGV[7] estimated duration ms, or ''
  ARGV[8] max attempts
  ARGV[9] agent TTL, ms
  ARGV[10] options (JSON object, every field optional): backoff (JSON text: [type, delayMs,
          maxDelayMs, jitter]: protocol's storedBackoffText), timeoutMs,
          delayMs (due this long from now) or runAt (due then, ms)
  ARGV[11..13] the job as addPrioritizedJob takes it (store/src/task-job.ts): msgpacked args,
          data (JSON), msgpacked options, for job id t.<task>.1 (a new task's epoch on its first
          owner); without an owner, unused
  ARGV[14] the most entries BullMQ keeps in the owner queue's events stream (QUEUE_EVENTS_MAX_LEN),
          set in the queue's meta when it holds another value

  Counts the task in the owner's load (includes/agentLoads.lua: keys derived from KEYS[2]).
  The event it appends, if any, is marked in the task's record (field 'ev:<stream id>').
  Returns {created (1|0), owner, epoch, state}, or for a new task
    -5 owner not registered   -11 owner not alive (dead, draining or drained)
    -12 owner lacks a required capability
]]
--- @include "appendTaskEvent"
--- @include "agentLoads"
--- @include "takesTasks"
--- @bullmq "addPrioritizedJob-9"

local taskKey, streamKey, waitKey = KEYS[1], KEYS[2], KEYS[3]
local taskId, owner = ARGV[1], ARGV[2]

if redis.call('EXISTS', taskKey) == 1 then
  local rec = redis.call('HMGET', taskKey, 'owner', 'epoch', 'state')
  return {0, rec[1], tonumber(rec[2]), rec[3]}
end

local now = redisNow()
local slots
if owner ~= '' then
  local refused
  refused, slots = refusesTasks(KEYS[4], ARGV[9], now)
  if refused then return refused end
  local required = cjson.decode(ARGV[5])
  if #required > 0 then
    local has = {}
    for _, c in ipairs(cjson.decode(redis.call('HGET', KEYS[4], 'capabilities') or '[]')) do has[c] = true end
    for _, c in ipairs(required) do
      if not has[c] then return -12 end
    end
  end
end

local epoch = 0
if owner ~= '' then epoch = 1 end

local record = {
  'id', taskId, 'type', ARGV[3], 'payload', ARGV[4], 'requiredCapabilities', ARGV[5],
  'priority', ARGV[6], 'maxAttempts', ARGV[8], 'owner', owner, 'state', 'queued',
  'epoch', epoch, 'attempts', 0, 'createdAt', now, 'updatedAt', now }
if ARGV[7] ~= '' then
  record[#record + 1] = 'estimatedDurationMs'
  record[#record + 1] = ARGV[7]
end
local options = cjson.decode(ARGV[10] or '{}')
local runAt = options.runAt
if options.delayMs then runAt = now + options.delayMs end
for field, value in pairs({backoff = options.backoff, timeoutMs = options.timeoutMs, runAt = runAt}) do
  record[#record + 1] = field
  record[#record + 1] = value
end

if owner == '' then
  redis.call('ZADD', waitKey, math.max(now, runAt or 0), taskId)
else
  local prefix = namespacePrefix(streamKey, 'events')
  if announcesQueued(prefix, owner, enterLoad(prefix, waitKey, owner, 'queued', taskId, now), slots) then
    record[#record + 1] = appendTaskEvent(streamKey, {
      kind = 'task:assigned', taskId = taskId, agentId = owner, epoch = epoch, at = now })
    record[#record + 1] = 1
  end
end
redis.call('HSET', taskKey, unpack(record))
if owner ~= '' then
  -- Ours, whatever wrote the meta first: BullMQ sets its own default (10,000) when the meta has
  -- none, and so does the agent's Worker at its start (its stalled-jobs check), before any submit.
  if redis.call('HGET', KEYS[6], 'opts.maxLenEvents') ~= ARGV[14] then
    redis.call('HSET', KEYS[6], 'opts.maxLenEvents', ARGV[14])
  end
  addPrioritizedJob({KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11], KEYS[12], KEYS[13]},
    {ARGV[11], ARGV[12], ARGV[13]})
end
return {1, owner, epoch, 'queued'}
