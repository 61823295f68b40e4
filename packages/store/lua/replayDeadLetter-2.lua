--[[
  Replays a dead letter: deletes it and appends its event to the stream again, both or neither.
  Two operators replaying one letter at once: the second finds it gone and appends nothing.

  KEYS[1] dead-letter stream    ws:{ns}:events:dead
  KEYS[2] event stream          ws:{ns}:events

  ARGV[1] dead letter's id
  ARGV[2] event field name      event
  ARGV[3] event JSON            (the caller checked that it parses)

  Returns the new event's id, or false when the dead letter is gone (replayed or dropped).
]]
if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then return false end
return redis.call('XADD', KEYS[2], '*', ARGV[2], ARGV[3])
