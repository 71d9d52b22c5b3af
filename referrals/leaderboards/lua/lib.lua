-- Shared by every leaderboard script (prepended to each one when it is loaded).
-- A board is a ZSET whose members are "<tie><user id>" (tie: TL digits, boards.tie_of) next to a HASH
-- board..':m' of user id -> current member string.
-- TL must equal boards.TIE_LEN: the loader refuses to start otherwise.
local TL = 35
local function put(board, user, delta, tie, registry)
  local meta = board .. ':m'
  local old = redis.call('HGET', meta, user)
  -- An event older than the one that set the member's tie (recorded out of order) leaves the tie, and so
  -- the member string, as it is: one ZINCRBY. A newer event, the usual case, moves the tie to itself
  -- (the member reached its new score now): the string changes, so ZREM + ZADD + HSET below.
  if old and string.sub(old, 1, TL) <= tie then
    redis.call('ZINCRBY', board, delta, old)
    return
  end
  local score = delta
  if not old and registry then redis.call('SADD', registry, board) end
  if old then
    score = score + tonumber(redis.call('ZSCORE', board, old) or '0')
    local oldtie = string.sub(old, 1, TL)
    if oldtie < tie then tie = oldtie end
    redis.call('ZREM', board, old)
  end
  local member = tie .. user
  redis.call('ZADD', board, string.format('%d', score), member)
  redis.call('HSET', meta, user, member)
end
local function take(board, user, delta, tie)
  local meta = board .. ':m'
  local cur = redis.call('HGET', meta, user)
  if not cur then return 0 end
  local score = tonumber(redis.call('ZSCORE', board, cur) or '0') - delta
  if score <= 0 then
    redis.call('ZREM', board, cur)
    redis.call('HDEL', meta, user)
    return 0
  end
  redis.call('ZADD', board, string.format('%d', score), cur)
  if string.sub(cur, 1, TL) == tie then return 1 end
  return 0
end
local function note(rebuilding, board, entry)
  if redis.call('SISMEMBER', rebuilding, board) == 1 then
    if redis.call('EXISTS', board .. ':rb') == 1 then
      redis.call('RPUSH', board .. ':pending', entry)
    else
      redis.call('SREM', rebuilding, board)
    end
  end
end
