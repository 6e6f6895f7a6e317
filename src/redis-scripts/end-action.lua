--- @include "includes/redis-now"
-- end-action: an operator action (see move-failure) is done; it ran until now. Actions that ended longer ago
-- than the retention are forgotten (no job they moved can still be failed).
--
-- KEYS: 1 the actions zset. ARGV: 1 the action's id, 2 retention ms.
local now = redisNow()
redis.call('ZADD', KEYS[1], 'XX', now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
return 1
