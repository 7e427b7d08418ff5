// The entry layout at the Redis layer alone (no database): what a hit sends back and how.
import { afterAll, describe, expect, it } from 'vitest'
import { RedisStore as CacheStore, INLINE_PAYLOAD_BYTES, type RedisLease } from '../src/redis/store.ts'
import type { LeaseRequest } from '../src/store/types.ts'
import { deleteKeys, newPrefix, rawRedis, recordScripts } from './helpers.ts'

const redis = rawRedis()
const other = rawRedis()
const prefix = newPrefix()
afterAll(async () => {
  await deleteKeys(other, prefix)
  redis.disconnect()
  other.disconnect()
})

/** Counts the GETs of payloads the store sends on its connection (the real command still runs). */
let gets = 0
let beforeGet: (key: string) => Promise<void> = async () => {}
const getBuffer = redis.getBuffer.bind(redis) as (key: string) => Promise<Buffer | null>
;(redis as unknown as { getBuffer: typeof getBuffer }).getBuffer = async (key) => {
  gets++
  await beforeGet(key)
  return getBuffer(key)
}
const ran = recordScripts(redis)
const store = new CacheStore(redis, prefix)
const dependsOnPost1: LeaseRequest = { models: [{ name: 'Post', schemes: ['id'] }], conjKeys: ['Post:id=1'], checkOnlyKeys: [] }

async function cached(name: string, payload: Buffer): Promise<string> {
  const key = store.entryKey(name)
  const lease = await store.readOrLease(key, dependsOnPost1, `${name}-1`, 60)
  if (lease.hit) throw new Error('expected a miss')
  expect(await store.storeIfFresh(key, lease, payload, 60)).toBe(true)
  return key
}

describe('entry payloads', () => {
  it('a small payload stays inside its entry, a large one has its own key; a process that knows the entry reads either with one MGET', async () => {
    const small = Buffer.alloc(INLINE_PAYLOAD_BYTES, 1)
    const large = Buffer.alloc(INLINE_PAYLOAD_BYTES + 1, 2)
    const smallKey = await cached('small', small)
    const largeKey = await cached('large', large)
    expect(await other.exists(`${smallKey}#p`)).toBe(0)
    expect((await other.getBuffer(`${largeKey}#p`))!.equals(large)).toBe(true)
    expect((await other.strlen(largeKey)) < 200).toBe(true) // the header only
    gets = 0
    ran.length = 0
    expect(await store.readOrLease(smallKey, dependsOnPost1, 's-2', 60)).toEqual({ hit: true, payload: small })
    expect(await store.readOrLease(largeKey, dependsOnPost1, 'l-2', 60)).toEqual({ hit: true, payload: large })
    expect([gets, ran]).toEqual([0, []])
    // Invalidated: the MGET sees a changed stamp, and the script deletes the dead entry and
    // its payload and takes a lease.
    await other.del(`${prefix}c:Post:id=1`)
    expect(await store.readOrLease(largeKey, dependsOnPost1, 'l-3', 60)).toMatchObject({ hit: false })
    expect(ran).toEqual(['readOrLease'])
    expect(await other.exists(largeKey, `${largeKey}#p`)).toBe(0)
  })

  it('once a hit was checked the long way, later hits compare header bytes: every stamp still counts, whatever UTF-8 the names hold', async () => {
    const lease: LeaseRequest = { models: [{ name: 'Post', schemes: ['title'] }], conjKeys: ['Post:title=café ☕', 'Post:title=ünï€'], checkOnlyKeys: [] }
    const stampKeys = [`${prefix}m:Post`, `${prefix}c:Post:title=café ☕`, `${prefix}c:Post:title=ünï€`]
    for (const [k, stampKey] of stampKeys.entries()) {
      const key = store.entryKey(`bytes-${k}`)
      const leased = await store.readOrLease(key, lease, `b${k}-1`, 60)
      if (leased.hit) throw new Error('expected a miss')
      const payload = Buffer.from(`payload ${k}`)
      expect(await store.storeIfFresh(key, leased, payload, 60)).toBe(true)
      ran.length = 0
      // The first hit parses the header and remembers its bytes; the next ones compare them.
      for (let i = 0; i < 3; i++) expect(await store.readOrLease(key, lease, `b${k}-${i + 2}`, 60)).toEqual({ hit: true, payload })
      expect(ran).toEqual([])
      await other.set(stampKey, `changed-${k}`)
      expect(await store.readOrLease(key, lease, `b${k}-9`, 60)).toMatchObject({ hit: false })
      expect(ran).toEqual(['readOrLease'])
    }
  })

  it('an entry stored with more dependencies than a reader expects (the rows an include reached): the script judges it once, then the MGET checks them all', async () => {
    const key = store.entryKey('included')
    const lease = await store.readOrLease(key, dependsOnPost1, 'i-1', 60)
    if (lease.hit) throw new Error('expected a miss')
    const big = Buffer.alloc(2 * INLINE_PAYLOAD_BYTES, 10)
    expect(await store.storeIfFresh(key, lease, big, 60, [{ scheme: 'id', key: 'User:id=3' }])).toBe(true)
    // Another process (on the same recorded connection), which predicts its header from
    // the read alone.
    const reader = new CacheStore(redis, prefix)
    const dependsOnUsers: LeaseRequest = { ...dependsOnPost1, models: [...dependsOnPost1.models, { name: 'User', schemes: [''] }] }
    ran.length = 0
    gets = 0
    for (let i = 0; i < 3; i++) expect(await reader.readOrLease(key, dependsOnUsers, `i-${i + 2}`, 60)).toEqual({ hit: true, payload: big })
    // The first through the script (nothing known), the second found the header longer
    // than predicted (the script judged it, and fetched the payload it now expects large
    // with a GET behind), the third one MGET.
    expect([ran, gets]).toEqual([['readOrLease', 'readOrLease'], 1])
    // The stamp of the row the include reached is checked by the MGET too.
    await other.del(`${prefix}c:User:id=3`)
    expect(await reader.readOrLease(key, dependsOnUsers, 'i-5', 60)).toMatchObject({ hit: false })
    expect(ran).toEqual(['readOrLease', 'readOrLease', 'readOrLease'])
  })

  it('a payload that vanishes between the check and the GET: asked for again, now a lease', async () => {
    const key = await cached('vanishing', Buffer.alloc(4 * INLINE_PAYLOAD_BYTES, 3))
    gets = 0
    beforeGet = async (k) => {
      beforeGet = async () => {}
      // Well after the check it was sent behind has run: as if it expired just now.
      await new Promise((r) => setTimeout(r, 20))
      await other.del(k)
    }
    // A reader that accepts stale entries always asks the script (it knows Redis' clock).
    expect(await store.readOrLease(key, dependsOnPost1, 'v-2', 60, 0, 5_000)).toMatchObject({ hit: false, lock: 'none' })
    expect(gets).toBe(2)
  })

  it('a stale hit of a large entry brings its payload too (one refresher, then the others)', async () => {
    const key = store.entryKey('stale-large')
    const big = Buffer.alloc(3 * INLINE_PAYLOAD_BYTES, 8)
    const lease = await store.readOrLease(key, dependsOnPost1, 'sl-1', 60)
    if (lease.hit) throw new Error('expected a miss')
    expect(await store.storeIfFresh(key, lease, big, 60, [], 30)).toBe(true)
    // Its time runs out (stale at 1 ms after the epoch); no write touched it.
    const entry = (await other.getBuffer(key))!
    const nl = entry.indexOf(10)
    const [len, , external] = entry.subarray(0, nl).toString().split(' ')
    expect(external).toBe('1')
    await other.set(key, Buffer.concat([Buffer.from(`${len} 1 ${external}`), entry.subarray(nl)]), 'KEEPTTL')
    gets = 0
    const first = await store.readOrLease(key, dependsOnPost1, 'sl-2', 60, 0, 5_000)
    expect(first).toMatchObject({ hit: true, payload: big, stale: true, refresh: { header: expect.stringContaining('Post:id=1') } })
    expect(await store.readOrLease(key, dependsOnPost1, 'sl-3', 60, 0, 5_000)).toEqual({ hit: true, payload: big, stale: true })
    expect(gets).toBe(2)
  })

  it('a payload evicted apart from its entry makes the entry a miss (it is deleted, a lease taken)', async () => {
    const key = await cached('evicted', Buffer.alloc(2 * INLINE_PAYLOAD_BYTES, 5))
    await other.del(`${key}#p`)
    expect(await store.readOrLease(key, dependsOnPost1, 'e-2', 60)).toMatchObject({ hit: false })
    expect(await other.exists(key)).toBe(0)
    // The same when this process did not expect it large (it reads the payload inline).
    const again = await cached('evicted-2', Buffer.alloc(2 * INLINE_PAYLOAD_BYTES, 6))
    await other.del(`${again}#p`)
    const fresh = new CacheStore(other, prefix)
    expect(await fresh.readOrLease(again, dependsOnPost1, 'e-3', 60)).toMatchObject({ hit: false })
  })

  it('a payload that grew or shrank moves in or out of its entry; whoever reads it gets it', async () => {
    const key = await cached('resizing', Buffer.alloc(2 * INLINE_PAYLOAD_BYTES, 4))
    const restore = async (payload: Buffer, token: string) => {
      await other.del(`${prefix}c:Post:id=1`)
      const lease = await store.readOrLease(key, dependsOnPost1, token, 60)
      if (lease.hit) throw new Error('expected a miss')
      expect(await store.storeIfFresh(key, lease, payload, 60)).toBe(true)
    }
    await restore(Buffer.from('tiny'), 'r-2')
    expect(await other.exists(`${key}#p`)).toBe(0)
    gets = 0
    expect(await store.readOrLease(key, dependsOnPost1, 'r-3', 60)).toEqual({ hit: true, payload: Buffer.from('tiny') })
    expect(gets).toBe(0)
    // Another process still expecting it large, and one not expecting it large, both get it.
    const big = Buffer.alloc(3 * INLINE_PAYLOAD_BYTES, 7)
    await restore(big, 'r-4')
    const unaware = new CacheStore(other, prefix)
    expect(await unaware.readOrLease(key, dependsOnPost1, 'r-5', 60)).toEqual({ hit: true, payload: big })
    await restore(Buffer.from('small again'), 'r-6')
    await store.readOrLease(key, dependsOnPost1, 'r-7', 60) // notes it small
    expect(await store.readOrLease(key, dependsOnPost1, 'r-8', 60)).toEqual({ hit: true, payload: Buffer.from('small again') })
  })

  it('a stale entry refreshed with a small result drops its old external payload and the refresh lock', async () => {
    const key = store.entryKey('stale-shrinks')
    const lease = await store.readOrLease(key, dependsOnPost1, 'ss-1', 60)
    if (lease.hit) throw new Error('expected a miss')
    expect(await store.storeIfFresh(key, lease, Buffer.alloc(3 * INLINE_PAYLOAD_BYTES, 9), 60, [], 30)).toBe(true)
    const entry = (await other.getBuffer(key))!
    const nl = entry.indexOf(10)
    const [len, , external] = entry.subarray(0, nl).toString().split(' ')
    await other.set(key, Buffer.concat([Buffer.from(`${len} 1 ${external}`), entry.subarray(nl)]), 'KEEPTTL')
    const stale = await store.readOrLease(key, dependsOnPost1, 'ss-2', 60, 0, 5_000)
    if (!stale.hit || !stale.refresh) throw new Error('expected a stale hit to refresh')
    expect(await other.exists(`${key}#swr`)).toBe(1)
    expect(await store.storeIfFresh(key, stale.refresh, Buffer.from('now small'), 60, [], 30)).toBe(true)
    expect(await other.exists(`${key}#p`, `${key}#swr`)).toBe(0)
    expect(await store.readOrLease(key, dependsOnPost1, 'ss-3', 60)).toEqual({ hit: true, payload: Buffer.from('now small') })
  })

  it("a store soon after its lease leaves the stamps' time alone (the lease gave them a margin); a late one extends them", async () => {
    const stamp = `${prefix}c:Post:id=1`
    const storeWithStampLeft = async (name: string, takenAgoMs: number) => {
      const key = store.entryKey(name)
      const lease = await store.readOrLease(key, dependsOnPost1, name, 60 + 60)
      if (lease.hit) throw new Error('expected a miss')
      await other.expire(stamp, 5) // as if the lease were long ago
      expect(await store.storeIfFresh(key, ({ ...(lease as unknown as RedisLease), takenAt: Date.now() - takenAgoMs } as RedisLease), Buffer.from(name), 60)).toBe(true)
      return other.ttl(stamp)
    }
    expect(await storeWithStampLeft('prompt-store', 0)).toBeLessThanOrEqual(5)
    expect(await storeWithStampLeft('late-store', 55_000)).toBeGreaterThanOrEqual(59)
  })
})
