// Key names: src/redis/keys.ts names every key in TypeScript, lua/include/keys.lua in the
// scripts; both must give the same name for the same thing.
import { Redis } from 'ioredis'
import { readFileSync } from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import { keyOf, stampKeyOfDependency } from '../src/redis/keys.ts'
import { REDIS_URL } from './helpers.ts'

const redis = new Redis(REDIS_URL)
afterAll(() => redis.quit())

describe('key names', () => {
  it('the Lua scripts name every key as the TypeScript does', async () => {
    const include = readFileSync(new URL('../src/redis/lua/include/keys.lua', import.meta.url), 'utf8')
    const lua = `${include}\nlocal p, m, c = ARGV[1], ARGV[2], ARGV[3]\nreturn {model_stamp_key(p, m), registry_key(p, m), conj_stamp_key(p, c), mass_writes_key(p, m), transforms_key(p, m)}`
    for (const [prefix, model, conj] of [['app:', 'Post', 'Post:authorId=7&title=a:b'], ['', 'User', 'User~views:'], ['x{1}:', 'Org_Profile', 'Org_Profile:']]) {
      const fromLua = await redis.eval(lua, 0, prefix!, model!, conj!)
      expect(fromLua).toEqual([keyOf.modelStamp(prefix!, model!), keyOf.registry(prefix!, model!), keyOf.conjStamp(prefix!, conj!), keyOf.massWrites(prefix!, model!), keyOf.transforms(prefix!, model!)])
    }
  })

  it('every key kind has a name of its own under the prefix', () => {
    const names = [keyOf.entry('p:', 'h'), keyOf.payload(keyOf.entry('p:', 'h')), keyOf.modelStamp('p:', 'h'), keyOf.registry('p:', 'h'), keyOf.conjStamp('p:', 'h'), keyOf.massWrites('p:', 'h'), keyOf.transforms('p:', 'h'), keyOf.unlockChannel('p:')]
    expect(new Set(names).size).toBe(names.length)
    expect(names.every((n) => n.startsWith('p:'))).toBe(true)
  })

  it('an entry header’s dependency lines map to their stamp keys', () => {
    expect(stampKeyOfDependency('app:', 'm Post')).toBe(keyOf.modelStamp('app:', 'Post'))
    expect(stampKeyOfDependency('app:', 'c Post:id=7')).toBe(keyOf.conjStamp('app:', 'Post:id=7'))
  })
})
