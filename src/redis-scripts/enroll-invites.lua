--- @include "includes/count-result"
--- @include "includes/redis-now"
-- enroll-invites: records which invites belong to a batch. Run before the chunk's addBulk (to find the
-- invites that need a job) and after it (to enroll the jobs just created).
--
-- INVARIANT (the batch accounting, see src/redis-scripts/index.ts): an invite is a member of a batch iff its
-- BullMQ job exists and its data names that batch. Membership is a set (SADD), so counting it is idempotent:
-- `total` (and the account's `acct:<account>:total`) grows only when SADD adds; a member whose result was recorded before it was enrolled is counted as
-- done here, once. Reruns, concurrent enqueues and crashes between the two runs therefore never count twice.
--
-- KEYS: 1 batch hash, 2 members set, 3 results hash, 4 order list, 5 writers zset, 6 the account queue's
--       failed zset, 7 the index of batches (zset batchId → createdAt), then one job key per invite.
-- ARGV: 1 batchId, 2 ttl ms, 3 (unused), 4 writer id, 5 writer heartbeat ms, 6 mode ('enroll' | 'check'),
--       then one ref ("account/jobId") per invite.
-- Returns one code per invite: 1 newly enrolled, 0 already a member, 2 its job belongs to another batch (or
-- none), 3 its job is failed (and was not newly enrolled here: the caller may replace it with corrected
-- fields), 4 no job yet.
local batchKey, members, results, order, writers, failed, batches = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local batchId, ttl, enroll = ARGV[1], ARGV[2], ARGV[6] == 'enroll'
local codes = {}
local added = 0
local now = redisNow()
-- The writer is live for a heartbeat from now, in Redis time (a writer's clock may be off).
if enroll then redis.call('ZADD', writers, now + tonumber(ARGV[5]), ARGV[4]) end
for i = 8, #KEYS do
  local ref = ARGV[i - 1]
  local data = redis.call('HGET', KEYS[i], 'data')
  local code
  if not data then
    code = 4
  else
    local ok, decoded = pcall(cjson.decode, data)
    if not ok or type(decoded) ~= 'table' or decoded['batchId'] ~= batchId then
      code = 2
    elseif not enroll then
      code = redis.call('SISMEMBER', members, ref) == 1 and 0 or 1
    elseif redis.call('SADD', members, ref) == 1 then
      code = 1
      added = added + 1
      redis.call('RPUSH', order, ref)
      local recorded = redis.call('HGET', results, ref)
      if recorded then countResult(batchKey, recorded, 1, ref) end
      redis.call('HINCRBY', batchKey, 'acct:' .. string.match(ref, '^([^/]+)/') .. ':total', 1)
    else
      code = 0
    end
    if code ~= 1 and redis.call('ZSCORE', failed, string.match(ref, '([^/]+)$')) then code = 3 end
  end
  codes[#codes + 1] = code
end
if enroll then
  redis.call('HSETNX', batchKey, 'createdAt', now)
  -- The console lists batches newest first; entries older than the retention drop out.
  redis.call('ZADD', batches, 'NX', now, batchId)
  redis.call('ZREMRANGEBYSCORE', batches, '-inf', now - tonumber(ttl))
  if added > 0 then
    redis.call('HINCRBY', batchKey, 'total', added)
    -- New members reopen a completed batch: it completes again (next round) when they finish.
    redis.call('HDEL', batchKey, 'completedAt')
  end
  for _, key in ipairs({ batchKey, members, results, order, writers }) do redis.call('PEXPIRE', key, ttl) end
end
return codes
