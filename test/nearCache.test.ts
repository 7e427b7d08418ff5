// The near cache (src/runtime/nearCache.ts, src/redis/tracking.ts): validated hits kept in
// process memory, coherent through Redis client tracking; strict mode fences every hit.
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NearCache } from '../src/runtime/nearCache.ts'
import { Tracking } from '../src/redis/tracking.ts'
import { CacheopsConfigError } from '../src/index.ts'
import { datamodel, freshDatabase, REDIS_URL, startThrowawayRedis, testClient, type TestClient } from './helpers.ts'
import { cacheops } from '../src/index.ts'

describe('NearCache (bookkeeping)', () => {
  const limits = { maxEntries: 3, maxBytes: 100 }

  it('a fill is installed unless an invalidation of one of its keys arrived meanwhile', () => {
    const c = new NearCache(limits)
    const p = c.begin('e1', ['k1', 'k2'], ['Post'])
    c.invalidateKeys(['k2'])
    expect(c.complete(p, { v: 1 }, 10, Date.now() + 1000)).toBeUndefined()
    const q = c.begin('e1', ['k1', 'k2'], ['Post'])
    c.invalidateKeys(['other'])
    expect(c.complete(q, { v: 2 }, 10, Date.now() + 1000)).toBeTypeOf('function')
    const got = c.get('e1', Date.now())?.value as { v: number }
    expect(got).toEqual({ v: 2 })
    got.v = 3 // each get is a copy of its own
    expect(c.get('e1', Date.now())?.value).toEqual({ v: 2 })
    c.invalidateKeys(['k1'])
    expect(c.get('e1', Date.now())).toBeUndefined()
  })

  it('own writes drop entries and fills of their models; clear starts a new epoch', () => {
    const c = new NearCache(limits)
    c.complete(c.begin('a', ['ka'], ['Post', 'User']), 1, 1, Date.now() + 1000)
    c.complete(c.begin('b', ['kb'], ['Tag']), 2, 1, Date.now() + 1000)
    const inFlight = c.begin('c', ['kc'], ['User'])
    c.dropModels(['User'])
    expect(c.has('a')).toBe(false)
    expect(c.has('b')).toBe(true)
    expect(c.complete(inFlight, 3, 1, Date.now() + 1000)).toBeUndefined()
    const before = c.begin('d', ['kd'], ['Tag'])
    c.clear()
    expect(c.size).toBe(0)
    expect(c.complete(before, 4, 1, Date.now() + 1000)).toBeUndefined()
  })

  it('bounded by entries and bytes (least recently used first) and by expiry', () => {
    const c = new NearCache(limits)
    const put = (k: string, bytes: number, ttl = 1000) => c.complete(c.begin(k, [k], ['M']), k, bytes, Date.now() + ttl)
    put('a', 10)
    put('b', 10)
    put('c', 10)
    c.get('a', Date.now()) // a is now the most recently used
    put('d', 10)
    expect(['a', 'b', 'c', 'd'].filter((k) => c.has(k))).toEqual(['a', 'c', 'd'])
    put('big', 90)
    expect(c.totalBytes).toBeLessThanOrEqual(100)
    expect(c.has('big')).toBe(true)
    expect(put('huge', 101)).toBeUndefined()
    put('old', 1, -1)
    expect(c.get('old', Date.now())).toBeUndefined()
    put('older', 1, -1)
    expect(c.holds('older', Date.now())).toBe(false)
    expect(c.has('older')).toBe(false) // gone, not only hidden
  })
})

describe('Tracking (Redis client-side caching, redirect mode)', () => {
  it('reports changes of keys read tracked, fences after them, and reports a FLUSH as a loss', async () => {
    const server = await startThrowawayRedis(26_100 + Math.floor(Math.random() * 800))
    const data = new Redis(server.url)
    const writer = new Redis(server.url)
    const invalidated: string[] = []
    let losses = 0
    const t = new Tracking(data, (keys) => invalidated.push(...keys), () => losses++)
    try {
      await t.start()
      expect(t.live).toBe(true)
      await t.tracked(() => data.mget('t:a', 't:b'))
      await data.mget('t:untracked') // OPTIN: not tracked without CLIENT CACHING yes
      await writer.set('t:untracked', '1')
      await writer.set('t:a', '1')
      await t.fence() // the writer's SET returned before: its invalidation is handled now
      expect(invalidated).toEqual(['t:a'])
      await writer.flushdb()
      await t.fence().catch(() => undefined)
      await new Promise((r) => setTimeout(r, 50))
      expect(losses).toBeGreaterThan(0)
      expect(t.live).toBe(false)
      await t.start()
      expect(t.live).toBe(true)
    } finally {
      await t.close()
      data.disconnect()
      writer.disconnect()
      await server.kill()
    }
  })
})

describe('placeholders against a real Redis: an invalidation racing a fill', () => {
  it('a write landing between a tracked read and the handling of its reply voids the fill', async () => {
    const data = new Redis(REDIS_URL)
    const writer = new Redis(REDIS_URL)
    const near = new NearCache({ maxEntries: 10, maxBytes: 1e6 })
    const t = new Tracking(data, (keys) => near.invalidateKeys(keys), () => near.clear())
    const key = `near-race:${Math.random()}`
    try {
      await writer.set(key, 'old')
      await t.start()
      for (const raced of [true, false]) {
        const placeholder = near.begin('entry', [key], ['Post'])
        // The read reaches Redis (and is tracked) but its reply is held back in the socket...
        const reply = t.tracked(() => data.get(key))
        await writer.ping() // a round trip after ours: Redis has executed the GET
        ;(data as unknown as { stream: { pause(): void } }).stream.pause()
        if (raced) {
          // ...while another client's write completes and its invalidation is handled.
          await writer.set(key, 'new')
          await t.fence()
        }
        ;(data as unknown as { stream: { resume(): void } }).stream.resume()
        const value = await reply
        const installed = near.complete(placeholder, value, 3, Date.now() + 10_000)
        if (raced) {
          expect(value).toBe('old') // the reply predates the write...
          expect(installed).toBeUndefined() // ...so it is not installed
          expect(near.has('entry')).toBe(false)
        } else {
          expect(installed).toBeTypeOf('function')
          expect(near.get('entry', Date.now())?.value).toBe('new')
        }
      }
    } finally {
      await t.close()
      data.disconnect()
      writer.disconnect()
    }
  })
})

/** REDIS_URL as ioredis options (so that a client's connections can carry a name). */
function redisOptions(): { host: string; port: number; db: number } {
  const u = new URL(REDIS_URL)
  return { host: u.hostname, port: Number(u.port || 6379), db: Number(u.pathname.slice(1) || 0) }
}
/** Client a's connections (its subscriber is a duplicate: same name), found in CLIENT LIST by it. */
const A_NAME = `near-a-${process.pid}`
async function connectionsOfA(admin: Redis, subscriber: boolean): Promise<string[]> {
  const list = String(await admin.client('LIST')).split('\n')
  return list.filter((line) => line.includes(` name=${A_NAME} `) && / sub=(\d+) /.exec(line)?.[1] !== '0' === subscriber).map((line) => /id=(\d+)/.exec(line)![1]!)
}

describe('near cache on a client', () => {
  let url: string
  let a: TestClient
  let b: TestClient
  let id: number
  beforeAll(async () => {
    url = await freshDatabase('near_cache')
    a = testClient(url, { nearCache: true, redis: { ...redisOptions(), connectionName: A_NAME } })
    b = testClient(url, { prefix: a.prefix, nearCache: true })
    id = (await a.base.user.create({ data: { email: 'near@x.io', name: 'v0' } })).id
  })
  afterAll(async () => {
    await a.prisma.$cacheops.invalidateAll()
    await a.close()
    await b.close()
  })
  const read = (t: TestClient) => t.prisma.user.findUnique({ where: { id } })
  /** Reads until a near hit (tracking is set up on first use, entries filled from a hit). */
  async function warmNear(t: TestClient): Promise<void> {
    for (let i = 0; i < 100; i++) {
      const before = t.prisma.$cacheops.stats().nearHits
      await read(t)
      if (t.prisma.$cacheops.stats().nearHits > before) return
      await new Promise((r) => setTimeout(r, 10))
    }
    throw new Error('no near hit after 100 reads, 10 ms apart')
  }

  it('hits come from memory (counted in nearHits, fastHits and hits), each a copy', async () => {
    await warmNear(a)
    const s0 = a.prisma.$cacheops.stats()
    const r1 = (await read(a))!
    r1.name = 'mutated'
    const r2 = (await read(a))!
    const s1 = a.prisma.$cacheops.stats()
    expect(r2.name).toBe('v0')
    expect(s1.nearHits - s0.nearHits).toBe(2)
    expect(s1.fastHits - s0.fastHits).toBe(2)
    expect(s1.hits - s0.hits).toBe(2)
    expect(s1.nearEntries).toBeGreaterThan(0)
  })

  it('strict: a write through one client, the other’s next read sees it at once', async () => {
    for (let round = 1; round <= 20; round++) {
      await warmNear(b)
      await a.prisma.user.update({ where: { id }, data: { name: `v${round}` } })
      expect((await read(b))?.name).toBe(`v${round}`) // no wait: the fence
      expect((await read(a))?.name).toBe(`v${round}`) // own write
    }
  })

  it('own writes drop what they invalidate before they return, in bounded mode too', async () => {
    const c = testClient(url, { prefix: a.prefix, nearCache: { consistency: { maxStaleMs: 1000 } } })
    try {
      await warmNear(c)
      for (let round = 0; round < 10; round++) {
        await c.prisma.user.update({ where: { id }, data: { name: `own${round}` } })
        expect((await read(c))?.name).toBe(`own${round}`)
        await warmNear(c)
      }
    } finally {
      await c.close()
    }
  })

  it('bounded: another process’s write is seen within the bound (delivery delay measured)', async () => {
    const bound = 200
    const c = testClient(url, { prefix: a.prefix, nearCache: { consistency: { maxStaleMs: bound } } })
    const delays: number[] = []
    try {
      for (let round = 0; round < 30; round++) {
        await warmNear(c)
        const name = `bounded${round}`
        await a.prisma.user.update({ where: { id }, data: { name } })
        const t0 = performance.now()
        while ((await read(c))?.name !== name) {
          expect(performance.now() - t0).toBeLessThan(bound)
          await new Promise((r) => setImmediate(r))
        }
        delays.push(performance.now() - t0)
      }
    } finally {
      await c.close()
    }
    delays.sort((x, y) => x - y)
    const at = (q: number) => delays[Math.min(delays.length - 1, Math.floor(q * delays.length))]!.toFixed(2)
    console.log(`near cache, bounded mode: writer's update returned → other process reads the new value: p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms (${delays.length} trials)`)
  })

  // a's subscriber (subscribed to the invalidation channel) or its data connection (tracking on).
  for (const [lost, subscriber] of [['subscriber', true], ['data connection', false]] as const) {
    it(`a lost ${lost} drops everything: no near hit until tracking is set up again`, async () => {
      await warmNear(a)
      const admin = new Redis(REDIS_URL)
      try {
        const ids = await connectionsOfA(admin, subscriber)
        expect(ids).toHaveLength(1)
        expect(a.prisma.$cacheops.stats().nearEntries).toBeGreaterThan(0)
        await admin.client('KILL', 'ID', ids[0]!)
        await new Promise((r) => setTimeout(r, 50))
        expect(a.prisma.$cacheops.stats().nearEntries).toBe(0)
        expect((await read(a))?.name).toBe((await a.base.user.findUnique({ where: { id } }))?.name)
        // Recovered once the connection is back (ioredis reconnects it) and tracking is set up again.
        await warmNear(a)
      } finally {
        admin.disconnect()
      }
    })
  }

  it('stays within maxEntries and maxBytes (least recently used out)', async () => {
    const c = testClient(url, { prefix: a.prefix, nearCache: { maxEntries: 5, maxBytes: 100_000 } })
    try {
      const users = await a.base.user.createManyAndReturn({ data: Array.from({ length: 20 }, (_, i) => ({ email: `bound${i}@x.io` })), select: { id: true } })
      for (let round = 0; round < 3; round++) for (const u of users) await c.prisma.user.findUnique({ where: { id: u.id } })
      const s = c.prisma.$cacheops.stats()
      expect(s.nearEntries).toBe(5)
      expect(s.nearBytes).toBeLessThanOrEqual(100_000)
      // The last five read are the ones kept: reading them again is all near hits.
      const before = c.prisma.$cacheops.stats().nearHits
      for (const u of users.slice(-5)) await c.prisma.user.findUnique({ where: { id: u.id } })
      expect(c.prisma.$cacheops.stats().nearHits - before).toBe(5)
    } finally {
      await c.close()
    }
  })

  it('bounded mode stops serving once the channel is silent longer than the bound (SIGSTOP’d Redis)', async () => {
    const server = await startThrowawayRedis(26_900 + Math.floor(Math.random() * 90))
    const c = testClient(url, { redis: server.url, nearCache: { consistency: { maxStaleMs: 150 } } })
    try {
      await warmNear(c)
      server.process.kill('SIGSTOP')
      const stopped = performance.now()
      let lastNear = stopped
      for (let i = 0; i < 40; i++) {
        const before = c.prisma.$cacheops.stats().nearHits
        await read(c)
        if (c.prisma.$cacheops.stats().nearHits > before) lastNear = performance.now()
        await new Promise((r) => setTimeout(r, 10))
        if (performance.now() - stopped > 400) break
      }
      // Served from memory for at most the bound (plus one ping interval), never after.
      expect(lastNear - stopped).toBeLessThan(150 + 60)
    } finally {
      server.process.kill('SIGCONT')
      await c.close()
      await server.kill()
    }
  }, 30_000)

  it('refuses a broken nearCache config with the path', () => {
    const bad = (nearCache: unknown) => () => cacheops({ redis: REDIS_URL, datamodel, nearCache } as never)
    expect(bad({ maxEntries: 0 })).toThrow(CacheopsConfigError)
    expect(bad({ maxEntries: 0 })).toThrow(/nearCache\.maxEntries/)
    expect(bad({ consistency: 'eventual' })).toThrow(/nearCache/)
    expect(bad({ consistency: { maxStaleMs: -1 } })).toThrow(/maxStaleMs/)
  })
})
