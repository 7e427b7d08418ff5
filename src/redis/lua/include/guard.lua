-- A model's mass-write guard (w:<Model>; see begin_write.lua), a hash: `n` writers under
-- way, `until` (ms, Redis clock) when it lapses unless raised again (a writer that crashed
-- never lowers it), and `g`, its generation: a fresh id whenever the guard is made anew
-- (none, evicted, or lapsed). A raise returns the generation; the writer hands it back at
-- its end, and an end whose generation is not the guard's current one, or whose guard has
-- lapsed, must make its model whole (results were stored meanwhile that the guard should
-- have refused) and leaves the count alone. A plain counter could not tell: a second
-- writer raising it again after it lapsed or was evicted hid the first one's loss. The
-- key outlives a lapse by the crash timeout again, then goes by itself.

local function guard_now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Raises the guard for `seconds`; returns its generation (`fresh` when made anew).
local function raise_guard(key, seconds, fresh)
  local now = guard_now_ms()
  local v = redis.call('HMGET', key, 'n', 'until', 'g')
  local n, lapses, g = tonumber(v[1] or '0'), tonumber(v[2] or '0'), v[3]
  if not g or n <= 0 or lapses <= now then
    n, g = 0, fresh
  end
  redis.call('HSET', key, 'n', n + 1, 'until', now + seconds * 1000, 'g', g)
  redis.call('PEXPIRE', key, seconds * 2000)
  return g
end

-- Whether the guard is still generation `g`'s and has not lapsed (false: the write ran
-- longer than its crash timeout, or the guard was evicted, made anew since).
local function guard_kept(key, g)
  local v = redis.call('HMGET', key, 'n', 'until', 'g')
  return v[3] == g and tonumber(v[1] or '0') > 0 and tonumber(v[2] or '0') > guard_now_ms()
end

-- Lowers the guard of generation `g`; returns guard_kept's answer (not kept: nothing
-- lowered, the end makes its model whole).
local function lower_guard(key, g)
  if not guard_kept(key, g) then
    return false
  end
  if redis.call('HINCRBY', key, 'n', -1) <= 0 then
    redis.call('DEL', key)
  end
  return true
end

-- Whether a mass write of the model is under way now (stores depending on it are refused).
local function guard_up(key)
  local v = redis.call('HMGET', key, 'n', 'until')
  return tonumber(v[1] or '0') > 0 and tonumber(v[2] or '0') > guard_now_ms()
end
