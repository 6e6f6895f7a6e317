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
-- An invite that succeeded has no job any more (it is removed as it completes) but a sent record, which names
-- its batch ([11], src/invites/sent-record.ts): it counts as its job would. Jobs completed by an earlier version
-- are still whole jobs.
--
-- KEYS: 1 batch hash, 2 members set, 3 results hash, 4 order list, 5 writers zset, 6 the account queue's
--       failed zset, 7 the index of batches (zset batchId → createdAt), then one job key per invite, then one
--       sent-record key per invite (in the same order).
-- ARGV: 1 batchId, 2 ttl ms, 3 (unused), 4 writer id, 5 writer heartbeat ms, 6 mode ('enroll' | 'check'),
--       then one ref ("account/jobId") per invite.
-- Returns one code per invite: 1 newly enrolled (or again, after its invite was cancelled), 0 already a member,
-- 2 its job belongs to another batch (or
-- none), 3 its job is failed (and was not newly enrolled here: the caller may replace it with corrected
-- fields), 4 no job yet.
local batchKey, members, results, order, writers, failed, batches = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local batchId, ttl, enroll = ARGV[1], ARGV[2], ARGV[6] == 'enroll'
local codes = {}
local added = 0
local now = redisNow()
-- The writer is live for a heartbeat from now, in Redis time (a writer's clock may be off).
if enroll then redis.call('ZADD', writers, now + tonumber(ARGV[5]), ARGV[4]) end
local n = (#KEYS - 7) / 2
for i = 8, 7 + n do
  local ref = ARGV[i - 1]
  local data = redis.call('HGET', KEYS[i], 'data')
  local batchOf = 'batchId'
  if not data then
    data = redis.call('GET', KEYS[i + n])
    batchOf = 11
  end
  local code
  if not data then
    code = 4
  else
    local ok, decoded = pcall(cjson.decode, data)
    -- A record of an invite in no batch holds '' there: no batch, as a job's data without batchId.
    local of = ok and type(decoded) == 'table' and decoded[batchOf] or nil
    if of == '' then of = nil end
    if of ~= batchId then
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
      -- A member whose invite was cancelled (cancel-invite removed its job) has a job again: enqueued anew in this
      -- batch, it is open again. Its cancellation is un-counted and the batch reopened; total stays (a member).
      local recorded = redis.call('HGET', results, ref)
      if recorded and string.find(recorded, '"kind":"cancelled"', 1, true) then
        countResult(batchKey, recorded, -1, ref)
        redis.call('HDEL', results, ref)
        redis.call('HDEL', batchKey, 'completedAt')
        code = 1
      end
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
