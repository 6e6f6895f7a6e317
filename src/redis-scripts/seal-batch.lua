--- @include "includes/redis-now"
--- @include "includes/maybe-complete"
-- seal-batch: one writer of a batch is done. An enqueue seals it (all its invites are in); a replay or a
-- correction only releases it. The batch completes once it is sealed, no other writer is live and every member
-- has a result.
--
-- KEYS: 1 batch hash, 2 writers zset, 3 stream.
-- ARGV: 1 maxLen, 2 batchId, 3 writer id ('' to only check), 4 'seal' | 'release'.
-- Returns how long (ms, Redis time) the latest writer still live holds the batch, or 0: the caller schedules a
-- check for then, so a batch whose other writer died (its heartbeat stops) still completes.
redis.call('ZREM', KEYS[2], ARGV[3])
if redis.call('EXISTS', KEYS[1]) == 1 then
  if ARGV[3] ~= '' and ARGV[4] ~= 'release' then redis.call('HSET', KEYS[1], 'sealed', '1') end
  maybeComplete(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2])
end
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
if not last[2] then return 0 end
return math.max(0, tonumber(last[2]) - redisNow())
