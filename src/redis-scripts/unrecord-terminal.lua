--- @include "includes/count-result"
--- @include "includes/unrecord"
-- unrecord-terminal: forgets an invite's terminal outcome (see includes/unrecord). Used where the invite is not
-- moved by the same script (tests, repairs); a replay or a correction uses move-failure, which forgets and moves
-- in one step.
--
-- KEYS: 1 marker, 2 batch hash, 3 members set, 4 results hash. ARGV: 1 ref.
-- Returns the recorded outcome it removed, or nil.
return unrecordResult(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1])
