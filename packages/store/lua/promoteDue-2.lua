--[[
  Moves delayed tasks that are due into the unassigned set, where placement gives them an owner.
  Until then no agent holds them: they are never stolen early and count in no agent's backlog.

  KEYS[1] delayed tasks zset      ws:{ns}:delayed (score: when due, Redis clock)
  KEYS[2] unassigned tasks zset   ws:{ns}:unassigned

  ARGV[1] most tasks to move

  Returns how many moved.
]]
--- @include "redisNow"

local now = redisNow()
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
for _, taskId in ipairs(due) do
  redis.call('ZADD', KEYS[2], now, taskId)
  redis.call('ZREM', KEYS[1], taskId)
end
return #due
