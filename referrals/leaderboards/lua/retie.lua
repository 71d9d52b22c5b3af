-- KEYS: board.  ARGV: user, old tie, new tie.  Moves the member to the new tie if it still has the old one.
local meta = KEYS[1] .. ':m'
local cur = redis.call('HGET', meta, ARGV[1])
if not cur or string.sub(cur, 1, TL) ~= ARGV[2] then return 0 end
local score = redis.call('ZSCORE', KEYS[1], cur)
redis.call('ZREM', KEYS[1], cur)
local member = ARGV[3] .. ARGV[1]
redis.call('ZADD', KEYS[1], score, member)
redis.call('HSET', meta, ARGV[1], member)
return 1
