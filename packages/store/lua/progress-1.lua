--[[
  Stores a running task's progress, reported by its handler. Only the owner at the claimed epoch,
  while the task runs, may report it: a run cut off by a move or a crash reports nothing.

  KEYS[1] task record hash   ws:{ns}:task:<id>

  ARGV[1] agent id
  ARGV[2] epoch carried by the job
  ARGV[3] progress (JSON)

  Returns 1, or
    -1 task not found   -2 stale (owner or epoch differ)   -4 task is not running
]]
--- @include "redisNow"

local rec = redis.call('HMGET', KEYS[1], 'owner', 'epoch', 'state')
if rec[3] == false then return -1 end
if rec[1] ~= ARGV[1] or tonumber(rec[2]) ~= tonumber(ARGV[2]) then return -2 end
if rec[3] ~= 'running' then return -4 end
redis.call('HSET', KEYS[1], 'progress', ARGV[3], 'progressAt', redisNow())
return 1
