-- Writing a fold's summed effects (fold-4.lua and foldOwn-3.lua alike). Nothing here raises an
-- error: these run after the cursor moved, so a hand-edited key is counted in the metrics hash,
-- never allowed to leave an entry passed over unapplied.
local function foldCountMetric(metricsKey, metric, n)
  redis.pcall('HINCRBY', metricsKey, metric, n)
end

-- Adds `delta` to a field; a new field of the per-type durations hash only while it holds fewer
-- than `maxDurationFields` (a flood of task types must not grow it without bound).
local function foldIncr(metricsKey, durationsKey, maxDurationFields, key, field, delta)
  if key == durationsKey then
    local known, size = redis.pcall('HEXISTS', key, field), redis.pcall('HLEN', key)
    if type(known) == 'number' and type(size) == 'number' and known == 0 and size >= maxDurationFields then
      foldCountMetric(metricsKey, 'fold.task_types_not_counted', 1)
      return
    end
  end
  -- As an integer's digits: Redis passes a Lua number on as %.17g, which from 1e17 up (a batch of
  -- a few dozen capped squares, durationSqSum) is exponent form, and HINCRBY refuses that. Above
  -- 2^53 a batch's summed squares are a double, rounded at each addition (relative error below
  -- 2^-53 per square: nothing to a spread); the hash adds the rounded integer exactly.
  local digits = string.format('%.0f', delta)
  local ok = redis.pcall('HINCRBY', key, field, digits)
  if type(ok) == 'table' and ok.err then
    -- Not an integer (a hand edit), past 64 bits, or not a hash: start the field over from this delta.
    local reset = redis.pcall('HSET', key, field, digits)
    foldCountMetric(metricsKey, (type(reset) == 'table' and reset.err) and 'fold.writes_failed' or 'fold.fields_reset', 1)
  end
end
