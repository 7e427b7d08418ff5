// What is the memory store's own: its config, its byte bound (and that losing anything to
// it is a miss, never a stale hit), sharing one store between clients, and that it needs
// no Redis. Its behaviour otherwise is the conformance suite's (vitest.config.ts).
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { cacheops, memoryStore, MemoryStore } from '../src/index.ts'
import { countSql, datamodel, freshDatabase, newPrefix, REDIS_URL, testClient, type TestClient } from './helpers.ts'
import { configError } from './assertions.ts'
import { transformOf, type CacheStore, type LeaseRequest } from '../src/store/types.ts'

describe('memoryStore() config', () => {
  it('is exported as a fixed contract: cacheops({ datamodel, store: memoryStore(), models })', () => {
    const store = memoryStore({ maxBytes: 1 << 20 })
    expect(store).toBeInstanceOf(MemoryStore)
    expect(store.maxBytes).toBe(1 << 20)
    expect(memoryStore().maxBytes).toBe(64 * 2 ** 20)
    expect(() => cacheops({ datamodel, store, models: { '*': { timeout: 60 } } })).not.toThrow()
  })

  it('refuses redis and store together, neither of them, a store not made by memoryStore(), and the near cache with it', () => {
    const both = configError(() => cacheops({ datamodel, redis: REDIS_URL, store: memoryStore() } as never))
    expect(both.issues).toContainEqual({ path: 'store', message: 'give either redis or store, not both' })
    expect(configError(() => cacheops({ datamodel } as never)).issues).toContainEqual(expect.objectContaining({ path: 'redis', message: expect.stringMatching(/memoryStore\(\)/) }))
    expect(configError(() => cacheops({ datamodel, store: {} as never })).issues[0]).toMatchObject({ path: 'store', message: expect.stringMatching(/memoryStore\(\)/) })
    expect(configError(() => cacheops({ datamodel, store: memoryStore(), nearCache: true })).issues[0]?.path).toBe('nearCache')
  })

  it('refuses a bad maxBytes with the option named', () => {
    for (const maxBytes of [0, -1, 1.5, Number.NaN]) {
      const err = configError(() => memoryStore({ maxBytes }))
      expect(err.issues[0]?.path).toBe('maxBytes')
      expect(err.message).toMatch(/memoryStore\(\): maxBytes/)
    }
  })
})

describe('memory store on clients', () => {
  let url: string
  const clients: TestClient[] = []
  const client = (store: MemoryStore, prefix = newPrefix()) => {
    const c = testClient(url, { store, prefix })
    clients.push(c)
    return c
  }
  beforeAll(async () => {
    url = await freshDatabase('memory_store')
  })
  afterAll(async () => {
    for (const c of clients) await c.close()
  })

  it('stays within maxBytes: least recently used entries go, and an evicted entry is a miss with the current rows', async () => {
    const store = memoryStore({ maxBytes: 64 * 1024 })
    const t = client(store)
    const user = await t.base.user.create({ data: { email: 'mem-lru@m.io', name: 'x'.repeat(2_000) } })
    const hot = () => t.prisma.user.findUnique({ where: { id: user.id } })
    await hot()
    // 200 distinct reads of ~2 kB each: far more than 64 kB.
    for (let i = 0; i < 200; i++) {
      await t.prisma.user.findMany({ where: { id: user.id, email: { not: `other-${i}` } } })
      if (i % 10 === 0) await hot() // kept recently used
    }
    expect(store.totalBytes).toBeLessThanOrEqual(64 * 1024)
    expect(store.size).toBeGreaterThan(3)
    expect(store.size).toBeLessThan(60)
    expect((await countSql(t, hot)).sql).toBe(0) // the recently used one stayed
    // The first of the 200 went; reading it again is a miss that sees a change made since.
    await t.base.user.update({ where: { id: user.id }, data: { name: 'changed' } })
    const evicted = await countSql(t, () => t.prisma.user.findMany({ where: { id: user.id, email: { not: 'other-0' } } }))
    expect(evicted.sql).toBe(1)
    expect(evicted.value[0]?.name).toBe('changed')
  })

  it('stamps alone overflowing the bound go too: what was cached is then a miss, never a stale hit', async () => {
    const store = memoryStore({ maxBytes: 4 * 1024 })
    const t = client(store)
    const user = await t.base.user.create({ data: { email: 'mem-stamps@m.io', name: 'before' } })
    const read = () => t.prisma.user.findUnique({ where: { id: user.id } })
    await read()
    expect((await countSql(t, read)).sql).toBe(0)
    // Many leases on conjunctions nobody stores under: their stamps alone overflow the bound.
    for (let i = 0; i < 300; i++) await t.prisma.user.findMany({ where: { email: `nobody-${i}@m.io` } })
    expect(store.totalBytes).toBeLessThanOrEqual(4 * 1024)
    // A write the cache cannot see: only a lost entry or stamp can explain a fresh answer.
    await t.base.user.update({ where: { id: user.id }, data: { name: 'after' } })
    const again = await countSql(t, read)
    expect(again).toMatchObject({ sql: 1 })
    expect(again.value?.name).toBe('after')
  })

  it('is shared by clients given the same store and prefix (a write on one invalidates the other), and not across prefixes', async () => {
    const store = memoryStore()
    const prefix = newPrefix()
    const a = client(store, prefix)
    const b = client(store, prefix)
    const elsewhere = client(store)
    const user = await a.base.user.create({ data: { email: 'mem-shared@m.io', name: 'one' } })
    const readA = () => a.prisma.user.findUnique({ where: { id: user.id } })
    const readB = () => b.prisma.user.findUnique({ where: { id: user.id } })
    await readA()
    expect((await countSql(b, readB)).sql).toBe(0) // a's entry answers b
    expect((await countSql(elsewhere, () => elsewhere.prisma.user.findUnique({ where: { id: user.id } }))).sql).toBe(1)
    await b.prisma.user.update({ where: { id: user.id }, data: { name: 'two' } })
    const seen = await countSql(a, readA)
    expect(seen).toMatchObject({ sql: 1 })
    expect(seen.value?.name).toBe('two')
    // invalidateAll of one prefix leaves the other's entries.
    await elsewhere.prisma.user.findUnique({ where: { id: user.id } })
    await a.prisma.$cacheops.invalidateAll()
    expect((await countSql(a, readA)).sql).toBe(1)
    expect((await countSql(elsewhere, () => elsewhere.prisma.user.findUnique({ where: { id: user.id } }))).sql).toBe(0)
  })

  it('needs no Redis: caches, invalidates and reports no error with only a store configured', async () => {
    const store = memoryStore()
    const errors: unknown[] = []
    const t = testClient(url, { store, prefix: newPrefix(), onError: (e) => errors.push(e) })
    clients.push(t)
    const user = await t.base.user.create({ data: { email: 'mem-noredis@m.io' } })
    await t.prisma.user.findUnique({ where: { id: user.id } })
    expect((await countSql(t, () => t.prisma.user.findUnique({ where: { id: user.id } }))).sql).toBe(0)
    await t.prisma.user.update({ where: { id: user.id }, data: { name: 'n' } })
    expect(errors).toEqual([])
  })
})

describe('memory store protocol edges (the store alone)', () => {
  const byPublished = (v: string): LeaseRequest => ({ models: [{ name: 'Post', schemes: ['published'] }], conjKeys: [`Post:published=${v}`], checkOnlyKeys: [] })
  const byId = (id: number): LeaseRequest => ({ models: [{ name: 'Post', schemes: ['id'] }], conjKeys: [`Post:id=${id}`], checkOnlyKeys: [] })
  let tokens = 0
  const token = () => `t${tokens++}`
  async function cache(store: CacheStore, key: string, request: LeaseRequest): Promise<void> {
    const lease = await store.readOrLease(key, request, token(), 120)
    if (lease.hit) throw new Error('expected a miss')
    expect(await store.storeIfFresh(key, lease, Buffer.from(key), 60)).toBe(true)
  }
  const isHit = async (store: CacheStore, key: string, request: LeaseRequest) => (await store.readOrLease(key, request, token(), 120)).hit

  it("prefixes that extend each other keep apart: clearing 'a:u:' leaves the update transforms of 'a:'", async () => {
    const shared = memoryStore()
    const a = shared.forPrefix('a:')
    const au = shared.forPrefix('a:u:')
    await cache(a, a.entryKey('true'), byPublished('true'))
    // An updateMany setting published = true ends; its transform applies for 30 s more.
    const begun = await a.beginWrite('Post', true, transformOf([['published', 'true']]))
    await a.invalidateRows('Post', [], { endWrite: begun.guard, endTransform: 'published\ttrue' })
    await au.invalidateAll()
    // A write of a row with published = false: under the transform, also keyed as true.
    await a.invalidateRows('Post', [[['published', 'false']]])
    expect(await isHit(a, a.entryKey('true'), byPublished('true'))).toBe(false)
  })

  it('a mass write whose guard expired while it ran makes its model whole at its end, even when another raised the guard since', async () => {
    const store = memoryStore().forPrefix('g:')
    const now = vi.spyOn(Date, 'now')
    try {
      let t = 1_000_000
      now.mockImplementation(() => t)
      const m1 = await store.beginWrite('Post', true) // M1, which will run longer than its guard
      t += 61_000
      await cache(store, store.entryKey('7'), byId(7)) // stored: the guard expired
      const m2 = await store.beginWrite('Post', true) // M2
      expect(m2.guard).not.toBe(m1.guard) // the guard lapsed: made anew
      await store.invalidateRows('Post', [], { endWrite: m1.guard }) // M1 ends: its pre-read missed rows
      expect(await isHit(store, store.entryKey('7'), byId(7))).toBe(false)
      // M2's guard is still up: nothing read now is stored until it ends.
      const lease = await store.readOrLease(store.entryKey('8'), byId(8), token(), 120)
      if (lease.hit) throw new Error('expected a miss')
      expect(await store.storeIfFresh(store.entryKey('8'), lease, Buffer.from('8'), 60)).toBe(false)
      await store.invalidateRows('Post', [], { endWrite: m2.guard }) // M2 ends
      await cache(store, store.entryKey('8'), byId(8))
    } finally {
      now.mockRestore()
    }
  })

  it('a mass write that never ends leaves no guard behind once it lapsed: the next one raises it anew and lowers it', async () => {
    const store = memoryStore().forPrefix('ghost:')
    const now = vi.spyOn(Date, 'now')
    try {
      let t = 2_000_000
      now.mockImplementation(() => t)
      await store.beginWrite('Post', true) // a writer that crashes: never ends
      t += 61_000
      await cache(store, store.entryKey('7'), byId(7)) // its guard lapsed: stores go through
      const next = await store.beginWrite('Post', true)
      await store.invalidateRows('Post', [], { endWrite: next.guard })
      expect(await isHit(store, store.entryKey('7'), byId(7))).toBe(true) // its end was not made whole
      await cache(store, store.entryKey('8'), byId(8)) // and stores go through again
    } finally {
      now.mockRestore()
    }
  })

  it('stamps of one-off misses do not crowd out entries that are hit (one recency order over both)', async () => {
    const mem = memoryStore({ maxBytes: 100_000 })
    const store = mem.forPrefix('e:')
    for (let k = 0; k < 20; k++) await cache(store, store.entryKey(`hot${k}`), byId(k))
    let hits = 0
    let reads = 0
    for (let round = 0; round < 200; round++) {
      // Ten leases on rows read once and never stored (a miss whose query failed, say).
      for (let j = 0; j < 10; j++) await store.readOrLease(store.entryKey(`once${round}-${j}`), byId(1_000 + round * 10 + j), token(), 120)
      const k = round % 20
      reads++
      if (await isHit(store, store.entryKey(`hot${k}`), byId(k))) hits++
      else await cache(store, store.entryKey(`hot${k}`), byId(k))
    }
    expect(mem.totalBytes).toBeLessThanOrEqual(100_000)
    expect(hits / reads).toBeGreaterThan(0.8)
  })
})
