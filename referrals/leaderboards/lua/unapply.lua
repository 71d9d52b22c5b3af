-- Take a voided event off its boards, at most once (a never-applied one is marked so a late apply is a no-op).
-- KEYS: bitmap, rebuilding, boards...  ARGV: bit, user, value, tie, event id.
-- Returns the boards whose tie must be redone.
local entry = table.concat({'-', ARGV[5], ARGV[2], ARGV[3], ARGV[4]}, '|')
for i = 3, #KEYS do note(KEYS[2], KEYS[i], entry) end
if redis.call('SETBIT', KEYS[1], ARGV[1], 1) == 0 then return {} end
local out = {}
for i = 3, #KEYS do
  if take(KEYS[i], ARGV[2], tonumber(ARGV[3]), ARGV[4]) == 1 then table.insert(out, KEYS[i]) end
end
return out
