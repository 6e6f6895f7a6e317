--- @include "includes/count-result"
-- unrecord-terminal: forgets an invite's terminal outcome before a replay, so the replayed run writes a new
-- event and is counted anew. Un-counts it from its batch only if it was counted (a member with a result), and
-- reopens the batch (it completes again, next round, when the replay finishes).
--
-- KEYS: 1 marker, 2 batch hash, 3 members set, 4 results hash. ARGV: 1 ref.
-- Returns the recorded outcome it removed, or nil.
local recorded = redis.call('GET', KEYS[1])
if not recorded then return nil end
redis.call('DEL', KEYS[1])
local result = redis.call('HGET', KEYS[4], ARGV[1])
if result then
  redis.call('HDEL', KEYS[4], ARGV[1])
  if redis.call('SISMEMBER', KEYS[3], ARGV[1]) == 1 then
    countResult(KEYS[2], result, -1, ARGV[1])
    redis.call('HDEL', KEYS[2], 'completedAt')
  end
end
return recorded
