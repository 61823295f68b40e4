--[[
  Folds a batch of event-stream entries into the workload hashes, exactly once: each entry is
  acknowledged with its own XACK, and its effects are applied only when that XACK acknowledged
  it (returned 1). Another replica folding the same entry, or a retry after a crash, finds it
  already acknowledged and applies nothing. Malformed entries go to the dead-letter stream under
  the same rule. The effects were computed by the caller (pure code in @worksteal/protocol).

  Keys of workload hashes are derived from ARGV[2] (all share the namespace's hash tag).

  KEYS[1] event stream         ws:{ns}:events
  KEYS[2] dead-letter stream   ws:{ns}:events:dead

  ARGV[1] consumer group
  ARGV[2] key prefix           ws:{ns}:
  ARGV[3] JSON array of entries, each
            {"id": streamId, "incr": [[suffix, field, delta], ...], "gauge": [[suffix, field, value, at], ...]}
          or {"id": streamId, "dead": reason, "fields": [field, value, ...]}

  Returns {applied, deadLettered, alreadyAcknowledged}
]]
local streamKey, deadKey = KEYS[1], KEYS[2]
local group, prefix = ARGV[1], ARGV[2]
local entries = cjson.decode(ARGV[3])
local applied, dead, skipped = 0, 0, 0

for _, entry in ipairs(entries) do
  if redis.call('XACK', streamKey, group, entry.id) == 1 then
    if entry.dead then
      local args = {deadKey, '*', 'sourceId', entry.id, 'reason', entry.dead}
      for _, f in ipairs(entry.fields) do args[#args + 1] = f end
      redis.call('XADD', unpack(args))
      dead = dead + 1
    else
      for _, op in ipairs(entry.incr) do
        redis.call('HINCRBY', prefix .. op[1], op[2], op[3])
      end
      for _, op in ipairs(entry.gauge) do
        local key = prefix .. op[1]
        local seen = tonumber(redis.call('HGET', key, 'metricsAt') or '0')
        if op[4] >= seen then
          redis.call('HSET', key, op[2], op[3], 'metricsAt', op[4])
        end
      end
      applied = applied + 1
    end
  else
    skipped = skipped + 1
  end
end
return {applied, dead, skipped}
