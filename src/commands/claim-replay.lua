-- claim-replay: one replay, at most, per failure of an invite. A failure is identified by the job and the
-- time it failed (finishedOn); the first replay to claim it moves it back, every other replay of that same
-- failure (a concurrent operator, the scheduler) skips it.
--
-- KEYS: 1 claim key. ARGV: 1 ttl ms. Returns 1 when claimed here.
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 1 end
return 0
