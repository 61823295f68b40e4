--- @include "appendTaskEvent"
--- @include "agentLoads"
--- @include "firstWait"
-- The rules of one finish (finish-4.lua describes them and the reply), shared by finish-4.lua and
-- finishMany-3.lua so that a run finished in a batch is finished exactly as alone.
-- `now`: the Redis clock (redisNow), read once by the caller.

-- At most n bytes, cut before a UTF-8 continuation byte so that the event stays valid UTF-8.
local function cutUtf8(s, n)
  if #s <= n then return s end
  while n > 0 and string.byte(s, n + 1) >= 128 and string.byte(s, n + 1) < 192 do n = n - 1 end
  return string.sub(s, 1, n)
end

local function finishTask(taskKey, streamKey, queuedKey, runningKey, taskId, agentId, epoch, outcome, detail, retentionMs, retryDelayMs, now)
  local rec = redis.call('HMGET', taskKey, 'owner', 'epoch', 'state', 'startedAt', 'type', 'attempts', 'maxAttempts',
    'finishedRuns', 'cancelRequestedAt', 'waitMs')
  if rec[3] == false then return -1 end
  if rec[1] ~= agentId or tonumber(rec[2]) ~= epoch then return -2 end
  if rec[3] ~= 'running' then return -4 end

  local duration = math.max(0, now - tonumber(rec[4]))
  local prefix = namespacePrefix(streamKey, 'events')
  leaveLoad(prefix, runningKey, agentId, 'running', taskId, now)

  local final = 1
  -- The record's change, written with the event's marker in one HSET at the end.
  local record = {'finishedRuns', (tonumber(rec[8]) or 0) + 1, 'updatedAt', now}
  local event
  -- The state written, returned as it is (not read back).
  local state

  if rec[9] then
    state = 'cancelled'
    table.insert(record, 'finishedAt'); table.insert(record, now)
    event = {
      kind = 'task:cancelled', taskId = taskId, agentId = agentId, fromState = 'running', epoch = epoch, at = now }
  elseif outcome == 'completed' then
    state = 'done'
    table.insert(record, 'result'); table.insert(record, detail)
    table.insert(record, 'finishedAt'); table.insert(record, now)
    event = {
      kind = 'task:completed', taskId = taskId, agentId = agentId, taskType = rec[5],
      epoch = epoch, durationMs = duration, at = now }
  else
    table.insert(record, 'error'); table.insert(record, detail)
    if outcome == 'failed' or (tonumber(rec[6]) or 0) >= (tonumber(rec[7]) or 1) then
      state = 'failed'
      table.insert(record, 'finishedAt'); table.insert(record, now)
    else
      final = 0
      state = 'queued'
      table.insert(record, 'runAt'); table.insert(record, now + (tonumber(retryDelayMs) or 0))
      enterLoad(prefix, queuedKey, agentId, 'queued', taskId, now)
    end
    event = {
      kind = 'task:failed', taskId = taskId, agentId = agentId, taskType = rec[5], epoch = epoch,
      durationMs = duration, final = (final == 1), error = cutUtf8(detail, 2000), at = now }
  end
  -- On the event of its first finished run only: each task's wait is observed once, when that run ends.
  event.waitMs = firstWait(rec[10], rec[8])
  table.insert(record, 'state'); table.insert(record, state)
  table.insert(record, appendTaskEvent(streamKey, event))
  table.insert(record, 1)
  redis.call('HSET', taskKey, unpack(record))
  if final == 1 then redis.call('PEXPIRE', taskKey, retentionMs) end
  return {duration, final, state}
end
