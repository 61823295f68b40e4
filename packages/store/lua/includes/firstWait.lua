-- The wait from submission of a task's first start (record field 'waitMs', written by claim-5.lua)
-- for the event that ends a run of it, or nil. Only until a run of it has finished (record field
-- 'finishedRuns'): the event that ended that run carried it, and each task's wait is observed once.
local function firstWait(waitMs, finishedRuns)
  if waitMs and (tonumber(finishedRuns) or 0) == 0 then return tonumber(waitMs) end
  return nil
end
