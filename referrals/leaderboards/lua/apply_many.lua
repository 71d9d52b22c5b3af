-- Many events of one shop in one call (replays, bulk loads). The keys travel in ARGV (single Redis, not a
-- cluster). ARGV: names, registry, rebuilding, then per event: bitmap, bit, user, name, value, tie, id,
-- board count, boards...  Returns how many events were new.
local names, registry, rebuilding_key = ARGV[1], ARGV[2], ARGV[3]
local rebuilding = redis.call('SCARD', rebuilding_key) > 0
local counted, i = 0, 4
while i <= #ARGV do
  local user, value, tie, count = ARGV[i + 2], tonumber(ARGV[i + 4]), ARGV[i + 5], tonumber(ARGV[i + 7])
  if redis.call('SETBIT', ARGV[i], ARGV[i + 1], 1) == 0 then
    counted = counted + 1
    redis.call('HSET', names, user, ARGV[i + 3])
    local entry = table.concat({'+', ARGV[i + 6], user, ARGV[i + 4], tie}, '|')
    for j = i + 8, i + 7 + count do
      put(ARGV[j], user, value, tie, registry)
      if rebuilding then note(rebuilding_key, ARGV[j], entry) end
    end
  end
  i = i + 8 + count
end
return counted
