-- Milliseconds on the Redis clock: the one clock every process agrees on.
local function redisNow()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
