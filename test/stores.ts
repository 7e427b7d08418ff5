// The conformance split (vitest.config.ts): behavioural test files run once per store;
// the few tests in them that are about Redis itself (what it holds, its commands) are
// declared with `itRedis` and exist on the Redis run only.
import { describe, it } from 'vitest'
import type { MemoryStore } from '../src/index.ts'
import { rawRedis, STORE, storeConfig } from './helpers.ts'

export { STORE }
export const itRedis: typeof it = STORE === 'redis' ? it : ((() => {}) as unknown as typeof it)

/** What the store under test holds for an entry: its key, seconds left, fresh-until (ms; 0: none). */
export interface HeldEntry {
  readonly key: string
  readonly ttlSeconds: number
  readonly freshUntil: number
}

type MemoryEntries = Map<string, { expiresAt: number; freshUntil: number }>
const memoryEntries = (): MemoryEntries => (sharedStore() as unknown as { entries: MemoryEntries }).entries

function sharedStore(): MemoryStore {
  const config = storeConfig()
  if (!('store' in config)) throw new Error('not the memory run')
  return config.store
}

/** The entries under `prefix` (not locks or payload keys), in the store under test. */
export async function heldEntries(prefix: string): Promise<HeldEntry[]> {
  if (STORE === 'memory') {
    const now = Date.now()
    return [...memoryEntries()].filter(([k]) => k.startsWith(`${prefix}r:`)).map(([key, e]) => ({ key, ttlSeconds: Math.round((e.expiresAt - now) / 1000), freshUntil: e.freshUntil }))
  }
  const redis = rawRedis()
  try {
    const keys = (await redis.keys(`${prefix}r:*`)).filter((k) => !k.includes('#'))
    return await Promise.all(
      keys.map(async (key) => {
        const v = (await redis.getBuffer(key))!
        return { key, ttlSeconds: await redis.ttl(key), freshUntil: Number(v.subarray(0, v.indexOf(10)).toString().split(' ')[1]) }
      }),
    )
  } finally {
    redis.disconnect()
  }
}

/** Makes every entry under `prefix` stale now, as if its timeout had passed; how many. */
export async function makeStale(prefix: string): Promise<number> {
  if (STORE === 'memory') {
    const entries = memoryEntries()
    const keys = [...entries.keys()].filter((k) => k.startsWith(`${prefix}r:`))
    for (const k of keys) entries.set(k, { ...entries.get(k)!, freshUntil: 1 })
    return keys.length
  }
  const redis = rawRedis()
  try {
    const keys = (await redis.keys(`${prefix}r:*`)).filter((k) => !k.includes('#'))
    for (const k of keys) {
      const v = (await redis.getBuffer(k))!
      const nl = v.indexOf(10)
      const [len, , external] = v.subarray(0, nl).toString().split(' ')
      await redis.set(k, Buffer.concat([Buffer.from(`${len} 1 ${external}`), v.subarray(nl)]), 'KEEPTTL')
    }
    return keys.length
  } finally {
    redis.disconnect()
  }
}

/** `describe` for a block about Redis itself: defined on the Redis run only. */
export const describeRedis: typeof describe = STORE === 'redis' ? describe : ((() => {}) as unknown as typeof describe)
