-- claim-pause: the first of concurrent pauses of an account (workers hitting the same 401 at once, an
-- operator) records why; the others see it is taken, so exactly one `account.paused` is published.
--
-- KEYS: 1 the account's state hash. ARGV: 1 its fields as one JSON array [name, value, ...].
-- Returns 1 when this caller paused the account, 0 when it already was.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(cjson.decode(ARGV[1])))
return 1
