-- KEYS: board, built copy, pending, rebuild token, registry, rebuilding.  ARGV: token, pending length seen,
-- then corrections (op, user, value, tie)...  Swaps the rebuilt copy in and applies what arrived meanwhile.
-- Returns {-1} if the rebuild lost its token, {0} if more was noted since (retry), else {1, "user|tie"...}
-- for the members whose tie must be redone.
if redis.call('GET', KEYS[4]) ~= ARGV[1] then return {-1} end
if redis.call('LLEN', KEYS[3]) ~= tonumber(ARGV[2]) then return {0} end
for _, suffix in ipairs({'', ':m'}) do
  if redis.call('EXISTS', KEYS[2] .. suffix) == 1 then
    redis.call('RENAME', KEYS[2] .. suffix, KEYS[1] .. suffix)
  else
    redis.call('DEL', KEYS[1] .. suffix)
  end
end
local out = {1}
for i = 3, #ARGV, 4 do
  if ARGV[i] == '+' then
    put(KEYS[1], ARGV[i + 1], tonumber(ARGV[i + 2]), ARGV[i + 3], nil)
  elseif take(KEYS[1], ARGV[i + 1], tonumber(ARGV[i + 2]), ARGV[i + 3]) == 1 then
    table.insert(out, ARGV[i + 1] .. '|' .. ARGV[i + 3])
  end
end
redis.call('DEL', KEYS[3], KEYS[4])
redis.call('SREM', KEYS[6], KEYS[1])
redis.call('SADD', KEYS[5], KEYS[1])
return out
