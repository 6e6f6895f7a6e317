-- Completes a batch at most once per round: when it is sealed, no enqueue of it is still running (writers
-- whose heartbeat has not expired), and every member has a recorded result (done >= total). Publishes one
-- batch.completed with the totals and the round (1, then 2 after a replay or a later enqueue reopened it).
-- Returns how long (ms, Redis time) the latest live writer still holds the batch when that is all that keeps it
-- from completing, else 0: the caller schedules a check for then, so a writer that died still lets it complete.
-- Needs includes/redis-now.
local function maybeComplete(batchKey, writersKey, stream, maxLen, batchId)
  local b = redis.call('HMGET', batchKey, 'sealed', 'total', 'done', 'succeeded', 'failed', 'completedAt', 'refused', 'duplicates', 'alreadyInBatch', 'cancelled')
  if b[1] ~= '1' or tonumber(b[3] or '0') < tonumber(b[2] or '0') or b[6] then return 0 end
  local now = redisNow()
  redis.call('ZREMRANGEBYSCORE', writersKey, '-inf', now)
  local live = redis.call('ZRANGE', writersKey, -1, -1, 'WITHSCORES')
  if live[2] then return tonumber(live[2]) - now end
  local at = tostring(now)
  local round = redis.call('HINCRBY', batchKey, 'round', 1)
  redis.call('HSET', batchKey, 'completedAt', at)
  redis.call('XADD', stream, 'MAXLEN', '~', maxLen, '*', 'type', 'batch.completed', 'batchId', batchId,
    'total', b[2] or '0', 'succeeded', b[4] or '0', 'failed', b[5] or '0', 'refused', b[7] or '0', 'duplicates', b[8] or '0',
    'alreadyInBatch', b[9] or '0', 'cancelled', b[10] or '0',
    'round', tostring(round), 'at', at)
  return 0
end
