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
-- A success of a job that is removed as it completes keeps no marker: its sent record (src/invites/sent-record.ts,
-- which names its run: [12], the enqueue time) is the marker, and what reports, `find` and idempotency read once
-- the job is gone. Either one, for this run, means "already written".
--
-- KEYS: 1 marker, 2 stream, 3 batch hash, 4 members set, 5 results hash, 6 writers zset, 7 the account's
--       throughput hash (minute → terminal invites, for the console's sparkline; kept 2 hours), 8 the invite's
--       sent record, 9 the account's sent count (hash: epoch day → successes recorded that day).
-- ARGV: 1 recorded outcome JSON, 2 marker ttl, 3 maxLen, 4 batchId ('' for none), 5 ref, 6 batch ttl,
--       7 the minute (epoch ms / 60000), 8 the outcome's kind, 9 its reason class ('' for none),
--       10 the sent record JSON ('' for none: a marker is written instead), 11 its ttl ms, 12 the day (epoch ms /
--       86400000), 13 the run's enqueue time, 14... the event's fields, name and value in turn.
-- Returns 0 when already written, else 1, or the ms a live writer still holds the batch open (> 1: check then).
local function sentByThisRun()
  local sent = redis.call('GET', KEYS[8])
  if not sent then return false end
  local ok, r = pcall(cjson.decode, sent)
  return ok and type(r) == 'table' and r[12] == tonumber(ARGV[13])
end
if redis.call('EXISTS', KEYS[1]) == 1 or sentByThisRun() then return 0 end
local live = 0
if ARGV[10] ~= '' then
  redis.call('SET', KEYS[8], ARGV[10], 'PX', ARGV[11])
  -- The account's successes still retained, by day (stats' `completed`): days past the retention are dropped.
  if redis.call('HINCRBY', KEYS[9], ARGV[12], 1) == 1 then
    local oldest = tonumber(ARGV[12]) - math.ceil(tonumber(ARGV[11]) / 86400000)
    for _, day in ipairs(redis.call('HKEYS', KEYS[9])) do
      if tonumber(day) < oldest then redis.call('HDEL', KEYS[9], day) end
    end
  end
  redis.call('PEXPIRE', KEYS[9], tonumber(ARGV[11]) + 86400000)
else
  redis.call('SET', KEYS[1], string.sub(ARGV[1], 1, -2) .. ',"recordedAt":' .. redisNow() .. '}', 'PX', ARGV[2])
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', unpack(ARGV, 14))
redis.call('HINCRBY', KEYS[7], ARGV[7], 1)
redis.call('PEXPIRE', KEYS[7], 7200000)
if ARGV[4] ~= '' then
  -- A success with a sent record keeps only its kind here (what the counters read); the record has the rest.
  local result = ARGV[10] ~= '' and cjson.encode({ kind = ARGV[8] }) or ARGV[1]
  if redis.call('HSETNX', KEYS[5], ARGV[5], result) == 1 then
    redis.call('PEXPIRE', KEYS[5], ARGV[6])
    if redis.call('SISMEMBER', KEYS[4], ARGV[5]) == 1 then
      countKind(KEYS[3], ARGV[8], ARGV[9], 1, ARGV[5])
      live = maybeComplete(KEYS[3], KEYS[6], KEYS[2], ARGV[3], ARGV[4])
    end
  end
end
return math.max(1, live)
