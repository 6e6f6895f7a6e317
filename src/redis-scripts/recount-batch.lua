--- @include "includes/count-result"
--- @include "includes/redis-now"
--- @include "includes/maybe-complete"
-- recount-batch: recomputes a batch's counters from its members and their recorded results, in one atomic
-- snapshot, and reports where the stored counters differ. With 'repair' it writes the recomputed counters
-- (idempotent: a second repair finds nothing) and completes the batch if that was all that kept it open.
-- Intake counts (refused, duplicates, alreadyInBatch) are not derived from jobs and are left as they are.
-- Blocks Redis for the time it takes to read the batch (about a second per million members).
--
-- KEYS: 1 batch hash, 2 members set, 3 results hash, 4 writers zset, 5 stream.
-- ARGV: 1 'check' | 'repair', 2 maxLen, 3 batchId.
-- Returns a flat list: field, stored, expected, for every counter that differs.
local batchKey, members, results = KEYS[1], KEYS[2], KEYS[3]
local expected = {}
local function add(field, n) expected[field] = (expected[field] or 0) + n end
local refs = redis.call('SMEMBERS', members)
add('total', #refs)
for _, ref in ipairs(refs) do
  local acct = 'acct:' .. string.match(ref, '^([^/]+)/') .. ':'
  add(acct .. 'total', 1)
  local recorded = redis.call('HGET', results, ref)
  if recorded then
    local ok, o = pcall(cjson.decode, recorded)
    if ok and type(o) == 'table' and type(o['kind']) == 'string' then
      for _, p in ipairs({ '', acct }) do
        add(p .. 'done', 1)
        add(p .. resultCounter(o['kind']), 1)
        add(p .. 'outcome:' .. o['kind'], 1)
      end
      if type(o['reasonClass']) == 'string' and o['reasonClass'] ~= '' then add('reason:' .. o['reasonClass'], 1) end
    end
  end
end
local function derived(field)
  return field == 'total' or field == 'done' or field == 'succeeded' or field == 'failed' or field == 'cancelled'
    or string.match(field, '^outcome:') or string.match(field, '^reason:') or string.match(field, '^acct:')
end
local stored = {}
local flat = redis.call('HGETALL', batchKey)
for i = 1, #flat, 2 do
  if derived(flat[i]) then stored[flat[i]] = tonumber(flat[i + 1]) or 0 end
end
local diffs = {}
local fields = {}
for f in pairs(expected) do fields[f] = true end
for f in pairs(stored) do fields[f] = true end
for f in pairs(fields) do
  local s, e = stored[f] or 0, expected[f] or 0
  if s ~= e then
    diffs[#diffs + 1] = f
    diffs[#diffs + 1] = tostring(s)
    diffs[#diffs + 1] = tostring(e)
    if ARGV[1] == 'repair' then
      if e == 0 then redis.call('HDEL', batchKey, f) else redis.call('HSET', batchKey, f, e) end
    end
  end
end
if ARGV[1] == 'repair' and #diffs > 0 then
  -- Counted anew: complete again (next round) when done reaches total, or now if it already has.
  redis.call('HDEL', batchKey, 'completedAt')
  maybeComplete(batchKey, KEYS[4], KEYS[5], ARGV[2], ARGV[3])
end
return diffs
