--[[
  Gives an unassigned task its first owner: the leader places tasks that waited for a capable
  live agent. Compares state and epoch so a concurrent placement happens once. The new owner
  must take tasks (registered, alive, not draining). The same assignment sent again (a replay
  after a reconnect) returns its epoch again while the task still waits there.

  KEYS[1] task record hash        ws:{ns}:task:<id>
  KEYS[2] event stream            ws:{ns}:events
  KEYS[3] unassigned tasks zset   ws:{ns}:unassigned
  KEYS[4] new owner's queued set  ws:{ns}:agent:<id>:queued
  KEYS[5] new owner's agent hash  ws:{ns}:agent:<id>

  ARGV[1] task id
  ARGV[2] new owner agent id
  ARGV[3] expected epoch (the one read when placing)
  ARGV[4] agent TTL, ms

  Counts the task in the new owner's load (includes/agentLoads.lua: keys derived from KEYS[2]).
  Appends `task:assigned` only when the owner's backlog is then a power of two (announcesQueued).
  The event it appends, if any, is marked in the task's record (field 'ev:<stream id>').
  Returns the new epoch, or
    -1 task not found   -5 owner not registered   -6 task already has an owner or moved on
    (epoch or state differ)   -11 owner not alive (dead, draining or drained)
]]
--- @include "appendTaskEvent"
--- @include "agentLoads"
--- @include "takesTasks"

local taskKey, streamKey, unassignedKey = KEYS[1], KEYS[2], KEYS[3]
local taskId, owner, expected = ARGV[1], ARGV[2], tonumber(ARGV[3])

local rec = redis.call('HMGET', taskKey, 'owner', 'epoch', 'state')
if rec[3] == false then
  redis.call('ZREM', unassignedKey, taskId)
  return -1
end
if rec[1] == owner and tonumber(rec[2]) == expected + 1 and rec[3] == 'queued' then return expected + 1 end
if rec[1] == '' and rec[3] == 'queued' and tonumber(rec[2]) ~= expected then
  -- Parked again since it was read (placed, its agent died, parked): it still waits.
  return -6
end
if rec[1] ~= '' or rec[3] ~= 'queued' then
  redis.call('ZREM', unassignedKey, taskId)
  return -6
end

local now = redisNow()
local refused, slots = refusesTasks(KEYS[5], ARGV[4], now)
if refused then return refused end

local epoch = expected + 1
redis.call('ZREM', unassignedKey, taskId)
local prefix = namespacePrefix(streamKey, 'events')
local record = {'owner', owner, 'epoch', epoch, 'updatedAt', now}
-- Announced to the steal trigger only when its owner's backlog is then a power of two, as a submit's.
if announcesQueued(prefix, owner, enterLoad(prefix, KEYS[4], owner, 'queued', taskId, now), slots) then
  record[#record + 1] = appendTaskEvent(streamKey, {
    kind = 'task:assigned', taskId = taskId, agentId = owner, epoch = epoch, at = now })
  record[#record + 1] = 1
end
redis.call('HSET', taskKey, unpack(record))
return epoch
