-- Adds (sign 1) or removes (sign -1) one member's recorded result to the batch counters: the batch's own and
-- its account's (`acct:<account>:...`, the account being the ref's part before '/'), so an onboarding across
-- accounts shows each tool's progress from the same hash. Every result is one of succeeded, failed or cancelled
-- (a withdrawn hire's invite, cancel-invite.lua), so done = succeeded + failed + cancelled.
local function resultCounter(kind)
  if kind == 'invited' or kind == 'already_member' then return 'succeeded' end
  if kind == 'cancelled' then return 'cancelled' end
  return 'failed'
end
local function countKind(batchKey, kind, reasonClass, sign, ref)
  local acct = 'acct:' .. string.match(ref, '^([^/]+)/') .. ':'
  for _, p in ipairs({ '', acct }) do
    redis.call('HINCRBY', batchKey, p .. 'done', sign)
    redis.call('HINCRBY', batchKey, p .. resultCounter(kind), sign)
    redis.call('HINCRBY', batchKey, p .. 'outcome:' .. kind, sign)
  end
  if reasonClass and reasonClass ~= '' then redis.call('HINCRBY', batchKey, 'reason:' .. reasonClass, sign) end
end
local function countResult(batchKey, recorded, sign, ref)
  local o = cjson.decode(recorded)
  countKind(batchKey, o['kind'], o['reasonClass'], sign, ref)
end
