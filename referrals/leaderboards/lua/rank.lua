-- KEYS: board, names.  ARGV: user.  -> rank (0-based), score, name, tie, board size; {} when not on it.
local member = redis.call('HGET', KEYS[1] .. ':m', ARGV[1])
if not member then return {} end
return {redis.call('ZREVRANK', KEYS[1], member), redis.call('ZSCORE', KEYS[1], member),
        redis.call('HGET', KEYS[2], ARGV[1]) or '', string.sub(member, 1, TL), redis.call('ZCARD', KEYS[1])}
