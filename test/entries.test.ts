// The entry layout at the Redis layer alone (no database): what a hit sends back and how.
import { afterAll, describe, expect, it } from 'vitest'
import { CacheStore, INLINE_PAYLOAD_BYTES, type LeaseRequest } from '../src/redis/store.ts'
import { deleteKeys, newPrefix, rawRedis } from './helpers.ts'

const redis = rawRedis()
const other = rawRedis()
const prefix = newPrefix()
afterAll(async () => {
  await deleteKeys(other, prefix)
  redis.disconnect()
  other.disconnect()
})

/** Counts the HGETs the store sends on its connection (the real command still runs). */
let hgets = 0
let beforeHget: (key: string) => Promise<void> = async () => {}
const hgetBuffer = redis.hgetBuffer.bind(redis) as (key: string, field: string) => Promise<Buffer | null>
;(redis as unknown as { hgetBuffer: typeof hgetBuffer }).hgetBuffer = async (key, field) => {
  hgets++
  await beforeHget(key)
  return hgetBuffer(key, field)
}
const store = new CacheStore(redis, prefix)
const dependsOnPost1: LeaseRequest = { models: [{ name: 'Post', schemes: ['id'] }], conjKeys: ['Post:id=1'], checkOnlyKeys: [] }

async function cached(name: string, payload: Buffer): Promise<string> {
  const key = store.entryKey(name)
  const lease = await store.readOrLease(key, dependsOnPost1, `${name}-1`, 60)
  if (lease.hit) throw new Error('expected a miss')
  expect(await store.storeIfFresh(key, lease, payload, 60, `${name}-1`)).toBe(true)
  return key
}

describe('entry payloads', () => {
  it('a small payload comes back inside the check; a large one by an HGET behind it', async () => {
    const small = Buffer.alloc(INLINE_PAYLOAD_BYTES, 1)
    const large = Buffer.alloc(INLINE_PAYLOAD_BYTES + 1, 2)
    const smallKey = await cached('small', small)
    const largeKey = await cached('large', large)
    hgets = 0
    expect(await store.readOrLease(smallKey, dependsOnPost1, 's-2', 60)).toEqual({ hit: true, payload: small })
    expect(hgets).toBe(0)
    expect(await store.readOrLease(largeKey, dependsOnPost1, 'l-2', 60)).toEqual({ hit: true, payload: large })
    expect(hgets).toBe(1)
    // Invalidated: the check deletes the dead entry before the HGET, which finds nothing.
    await other.del(`${prefix}c:Post:id=1`)
    expect(await store.readOrLease(largeKey, dependsOnPost1, 'l-3', 60)).toMatchObject({ hit: false })
    expect(hgets).toBe(2)
    expect(await other.exists(largeKey)).toBe(0)
  })

  it('an entry that vanishes between the check and the HGET is asked for again: a lease', async () => {
    const key = await cached('vanishing', Buffer.alloc(4 * INLINE_PAYLOAD_BYTES, 3))
    hgets = 0
    beforeHget = async (k) => {
      beforeHget = async () => {}
      // Well after the check behind which it was sent has run: as if the entry expired now.
      await new Promise((r) => setTimeout(r, 20))
      await other.del(k)
    }
    expect(await store.readOrLease(key, dependsOnPost1, 'v-2', 60)).toMatchObject({ hit: false, lock: 'none' })
    expect(hgets).toBe(2)
  })

  it('a payload that shrank is asked for inline again', async () => {
    const key = await cached('shrinking', Buffer.alloc(2 * INLINE_PAYLOAD_BYTES, 4))
    await other.del(`${prefix}c:Post:id=1`)
    const lease = await store.readOrLease(key, dependsOnPost1, 'sh-2', 60)
    if (lease.hit) throw new Error('expected a miss')
    expect(await store.storeIfFresh(key, lease, Buffer.from('tiny'), 60, 'sh-2')).toBe(true)
    hgets = 0
    expect(await store.readOrLease(key, dependsOnPost1, 'sh-3', 60)).toEqual({ hit: true, payload: Buffer.from('tiny') })
    expect(hgets).toBe(0)
  })
})
