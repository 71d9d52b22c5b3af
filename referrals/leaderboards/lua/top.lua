-- KEYS: board, names.  ARGV: limit.  -> user, score, name, tie for the top rows.
local rows = redis.call('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1, 'WITHSCORES')
if #rows == 0 then return {} end
local users = {}
for i = 1, #rows, 2 do table.insert(users, string.sub(rows[i], TL + 1)) end
local names = {}
for first = 1, #users, 500 do  -- unpack() has a stack limit: ask in slices
  local slice = redis.call('HMGET', KEYS[2], unpack(users, first, math.min(first + 499, #users)))
  for j = 1, #slice do names[first + j - 1] = slice[j] end
end
local out = {}
for i = 1, #users do
  table.insert(out, users[i])
  table.insert(out, rows[2 * i])
  table.insert(out, names[i] or '')
  table.insert(out, string.sub(rows[2 * i - 1], 1, TL))
end
return out
