--- @include "includes/count-result"
--- @include "includes/redis-now"
--- @include "includes/maybe-complete"
-- record-terminal: an invite's terminal event, written once, and its result counted in its batch once.
--
-- INVARIANT: the marker (SET NX) makes the event exactly-once per job run; the batch's results hash (HSETNX)
-- makes the count exactly-once per member: counters move only for a result newly recorded for a member.
-- A result recorded before its invite was enrolled is counted by enroll-invites instead. The marker also keeps
-- when it was recorded (Redis time, `recordedAt`): an operator action moves only failures recorded before it began.
--
-- KEYS: 1 marker, 2 stream, 3 batch hash, 4 members set, 5 results hash, 6 writers zset, 7 the account's
--       throughput hash (minute → terminal invites, for the console's sparkline; kept 2 hours).
-- ARGV: 1 recorded outcome JSON, 2 marker ttl, 3 maxLen, 4 batchId ('' for none), 5 ref, 6 batch ttl,
--       7 the minute (epoch ms / 60000), 8 the outcome's kind, 9 its reason class ('' for none),
--       10... the event's fields, name and value in turn (nothing to decode here).
-- Returns 0 when already written, else 1, or the ms a live writer still holds the batch open (> 1: check then).
local marker = string.sub(ARGV[1], 1, -2) .. ',"recordedAt":' .. redisNow() .. '}'
if redis.call('SET', KEYS[1], marker, 'NX', 'PX', ARGV[2]) then
  local live = 0
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', unpack(ARGV, 10))
  redis.call('HINCRBY', KEYS[7], ARGV[7], 1)
  redis.call('PEXPIRE', KEYS[7], 7200000)
  if ARGV[4] ~= '' then
    if redis.call('HSETNX', KEYS[5], ARGV[5], ARGV[1]) == 1 then
      redis.call('PEXPIRE', KEYS[5], ARGV[6])
      if redis.call('SISMEMBER', KEYS[4], ARGV[5]) == 1 then
        countKind(KEYS[3], ARGV[8], ARGV[9], 1, ARGV[5])
        live = maybeComplete(KEYS[3], KEYS[6], KEYS[2], ARGV[3], ARGV[4])
      end
    end
  end
  return math.max(1, live)
end
return 0
