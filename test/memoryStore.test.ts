// What is the memory store's own: its config, its byte bound (and that losing anything to
// it is a miss, never a stale hit), sharing one store between clients, and that it needs
// no Redis. Its behaviour otherwise is the conformance suite's (vitest.config.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cacheops, memoryStore, MemoryStore } from '../src/index.ts'
import { countSql, datamodel, freshDatabase, newPrefix, REDIS_URL, testClient, type TestClient } from './helpers.ts'
import { configError } from './assertions.ts'

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

  it('stamps alone overflowing the bound go too (entries first): what was cached is then a miss, never a stale hit', async () => {
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
