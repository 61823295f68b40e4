-- Appends a task event to the stream and marks it in the task's record (field 'ev:<stream id>'):
-- the fold script counts only marked task events, so a forged or replayed one is refused.
local function appendTaskEvent(streamKey, taskKey, event)
  local eventId = redis.call('XADD', streamKey, '*', 'event', cjson.encode(event))
  redis.call('HSET', taskKey, 'ev:' .. eventId, 1)
end
