-- A model's mass-write guard (w:<Model>; see begin_write.lua), a hash: `n` writers under
-- way, `until` (ms, Redis clock) when it lapses unless raised again (a writer that crashed
-- never lowers it), and `lost`: writers whose guard lapsed while they ran. Each of those
-- must make its model whole when it ends (results were stored meanwhile that the guard
-- should have refused). A plain counter with a TTL could not tell: a second writer raising
-- it again after it lapsed hid the first one's loss. Which ending writer was lost cannot be
-- told, and need not be: the next `lost` ends make their models whole, and a current
-- writer taken for a lost one only keeps the guard up a little longer. The key itself
-- lives a day (far beyond any write), so that a lapse is remembered; if it is evicted, an
-- ending writer finds it gone and makes its model whole too.
local GUARD_KEEP_SECONDS = 86400

local function guard_now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The guard's writers under way and lost, a lapse folded in (not written back).
local function guard_state(key, now)
  local v = redis.call('HMGET', key, 'n', 'until', 'lost')
  local n, lapses, lost = tonumber(v[1] or '0'), tonumber(v[2] or '0'), tonumber(v[3] or '0')
  if n > 0 and lapses <= now then
    lost = lost + n
    n = 0
  end
  return n, lost
end

local function raise_guard(key, seconds)
  local now = guard_now_ms()
  local n, lost = guard_state(key, now)
  redis.call('HSET', key, 'n', n + 1, 'until', now + seconds * 1000, 'lost', lost)
  redis.call('EXPIRE', key, GUARD_KEEP_SECONDS)
end

-- Whether lowering the guard now would find it this writer's still (false: it lapsed, or
-- was lost to eviction, while the write ran).
local function guard_kept(key)
  if redis.call('EXISTS', key) == 0 then
    return false
  end
  local n, lost = guard_state(key, guard_now_ms())
  return lost == 0 and n > 0
end

-- Lowers the guard; returns guard_kept's answer from before.
local function lower_guard(key)
  if redis.call('EXISTS', key) == 0 then
    return false
  end
  local n, lost = guard_state(key, guard_now_ms())
  local kept = true
  if lost > 0 then
    lost = lost - 1
    kept = false
  elseif n > 0 then
    n = n - 1
  else
    kept = false
  end
  if n == 0 and lost == 0 then
    redis.call('DEL', key)
  else
    redis.call('HSET', key, 'n', n, 'lost', lost)
  end
  return kept
end

-- Whether a mass write of the model is under way now (stores depending on it are refused).
local function guard_up(key)
  local v = redis.call('HMGET', key, 'n', 'until')
  return tonumber(v[1] or '0') > 0 and tonumber(v[2] or '0') > guard_now_ms()
end
