-- Count one event on its boards, exactly once.
-- KEYS: bitmap, names, registry, rebuilding, boards...  ARGV: bit, user, name, value, tie, event id.
-- Returns 1 if this call counted the event, 0 if its bit was already set.
if redis.call('SETBIT', KEYS[1], ARGV[1], 1) == 1 then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
local value = tonumber(ARGV[4])
local rebuilding = redis.call('SCARD', KEYS[4]) > 0
local entry = rebuilding and table.concat({'+', ARGV[6], ARGV[2], ARGV[4], ARGV[5]}, '|')
for i = 5, #KEYS do
  put(KEYS[i], ARGV[2], value, ARGV[5], KEYS[3])
  if rebuilding then note(KEYS[4], KEYS[i], entry) end
end
return 1
