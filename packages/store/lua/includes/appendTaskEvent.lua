-- Appends a task event to the stream and returns its marker: the field 'ev:<stream id>' that the
-- caller sets (to 1) in the task's record in the same script, with the record's own change (one
-- HSET for both). The fold script counts only marked task events, so a forged or replayed one is
-- refused.
local function appendTaskEvent(streamKey, event)
  return 'ev:' .. redis.call('XADD', streamKey, '*', 'event', cjson.encode(event))
end
