-- Releases an entry's lock taken by read_or_lease.lua, if this caller still holds it, and
-- wakes the callers waiting for it (they read the entry again, or compute it themselves
-- when it was not stored).
--
-- KEYS[1]  entry key (the lock is `<entry key>#lock`)
-- ARGV[1]  the token the lock was taken with
-- ARGV[2]  the channel waiters listen on, or '' for a stale entry's refresh lock
--          (`<entry key>#swr`, which nobody waits for)
-- Returns  1 when released, 0 when the lock had expired or was someone else's.
local waited = ARGV[2] ~= ''
local lock = KEYS[1] .. (waited and '#lock' or '#swr')
local released = 0
if redis.call('GET', lock) == ARGV[1] then
  redis.call('DEL', lock)
  released = 1
end
if waited then
  redis.call('PUBLISH', ARGV[2], KEYS[1])
end
return released
