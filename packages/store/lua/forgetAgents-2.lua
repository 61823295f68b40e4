--[[
  Forgets removed agents in the two sorted sets their scripts keep beside their hashes. The
  member holding the highest change number stays: change numbers are the highest score plus one
  (includes/agentChanged.lua), so removing it would hand its number out again and a leader that
  read up to it would never see the next agent to change. Its record reads as missing, so the
  member left behind is dropped by every reader; the next change of any agent outnumbers it.

  KEYS[1] heartbeats sorted set      ws:{ns}:heartbeats
  KEYS[2] agent changes sorted set   ws:{ns}:agent-changes

  ARGV[1..n] agent ids

  Returns the number of ids forgotten in the heartbeats sorted set.
]]
local top = redis.call('ZREVRANGE', KEYS[2], 0, 0)[1]
local forgotten = 0
for _, id in ipairs(ARGV) do
  forgotten = forgotten + redis.call('ZREM', KEYS[1], id)
  if id ~= top then redis.call('ZREM', KEYS[2], id) end
end
return forgotten
