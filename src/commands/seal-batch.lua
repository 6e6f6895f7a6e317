--- @include "includes/maybe-complete"
-- seal-batch: one enqueue of a batch has finished adding its invites. The batch completes once it is sealed,
-- no other enqueue of it is still running (live writers) and every member has a result.
--
-- KEYS: 1 batch hash, 2 writers zset, 3 stream. ARGV: 1 maxLen, 2 batchId, 3 writer id ('' to only check).
-- Returns the heartbeat expiry (ms) of the latest writer still live, or 0: the caller schedules a check for
-- then, so a batch whose other writer died (its heartbeat stops) still completes.
redis.call('ZREM', KEYS[2], ARGV[3])
if redis.call('EXISTS', KEYS[1]) == 1 then
  if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'sealed', '1') end
  maybeComplete(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2])
end
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
return tonumber(last[2] or '0')
