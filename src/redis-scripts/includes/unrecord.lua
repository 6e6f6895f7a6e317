-- Forgets an invite's recorded terminal outcome: deletes its marker and, if its batch counted it (a member with a
-- result), un-counts it and reopens the batch (it completes again, next round, when the invite finishes again).
-- Returns the marker's value, or nil when nothing was recorded.
local function unrecordResult(marker, batchKey, members, results, ref)
  local recorded = redis.call('GET', marker)
  if not recorded then return nil end
  redis.call('DEL', marker)
  local result = redis.call('HGET', results, ref)
  if result then
    redis.call('HDEL', results, ref)
    if redis.call('SISMEMBER', members, ref) == 1 then
      countResult(batchKey, result, -1, ref)
      redis.call('HDEL', batchKey, 'completedAt')
    end
  end
  return recorded
end
