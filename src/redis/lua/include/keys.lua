-- Key names, as src/redis/keys.ts gives them (test/keys.test.ts checks both agree).
local function model_stamp_key(prefix, model) return prefix .. 'm:' .. model end
local function registry_key(prefix, model) return prefix .. 'e:' .. model end
local function conj_stamp_key(prefix, conj) return prefix .. 'c:' .. conj end
local function mass_writes_key(prefix, model) return prefix .. 'w:' .. model end
local function transforms_key(prefix, model) return prefix .. 'u:' .. model end
