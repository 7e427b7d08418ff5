// Stale-while-revalidate: an entry whose time ran out (but that no write invalidated) is
// served for `staleWhileRevalidate` more seconds while one caller, across processes,
// refreshes it in the background. Entries are aged by rewriting the "fresh until" time
// they carry, so the tests need not sleep through timeouts (one test does, to check time).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CacheopsConfigError, CacheopsRefreshError } from '../src/index.ts'
import { countSql, freshDatabase, newPrefix, pauseFirst, testClient, type TestClient } from './helpers.ts'
import { heldEntries, makeStale } from './stores.ts'

let url: string
const clients: TestClient[] = []
let uid: number

beforeAll(async () => {
  url = await freshDatabase('stale')
  const setup = testClient(url)
  clients.push(setup)
  uid = (await setup.base.user.create({ data: { email: 'swr@s.io', name: 'before' } })).id
})
afterAll(async () => {
  for (const c of clients) await c.close()
})

function group(n: number, profile: { timeout?: number; staleWhileRevalidate?: number } = {}, onError?: (e: Error) => void): TestClient[] {
  const prefix = newPrefix()
  const made = Array.from({ length: n }, () =>
    testClient(url, { prefix, models: { '*': { ops: 'all', timeout: profile.timeout ?? 60, staleWhileRevalidate: profile.staleWhileRevalidate ?? 120 } }, ...(onError ? { onError } : {}) }),
  )
  clients.push(...made)
  return made
}

/** Makes every entry under `prefix` stale now, as if its timeout had passed. */
async function age(prefix: string): Promise<number> {
  for (const e of await heldEntries(prefix)) expect(e.freshUntil).toBeGreaterThan(Date.now() - 60_000) // it carries a fresh-until time
  return makeStale(prefix)
}

const settle = () => new Promise((r) => setTimeout(r, 150))

async function rename(name: string) {
  // A change the cache cannot see (not through the cached client): only time expires it.
  await clients[0]!.base.user.update({ where: { id: uid }, data: { name } })
}

describe('staleWhileRevalidate', () => {
  it('serves an expired entry once more and refreshes it in the background, once', async () => {
    const [t] = group(1) as [TestClient]
    await rename('v1')
    expect((await t.prisma.user.findUnique({ where: { id: uid } }))?.name).toBe('v1')
    await rename('v2')
    expect(await age(t.prefix)).toBe(1)
    const stale = await countSql(t, () => t.prisma.user.findUnique({ where: { id: uid } }))
    expect(stale.value?.name).toBe('v1') // served stale...
    await settle()
    expect(t.sql.length).toBeGreaterThan(0)
    const fresh = await countSql(t, () => t.prisma.user.findUnique({ where: { id: uid } }))
    expect(fresh).toMatchObject({ sql: 0, value: { name: 'v2' } }) // ...and refreshed from the database
    expect(t.prisma.$cacheops.stats()).toMatchObject({ staleHits: 1 })
  })

  it('lets one caller across clients refresh, while all others are served the stale value', async () => {
    const cs = group(4)
    await rename('w1')
    await cs[0]!.prisma.user.findUnique({ where: { id: uid } })
    await rename('w2')
    await age(cs[0]!.prefix)
    const before = cs.reduce((n, c) => n + c.sql.length, 0)
    const results = await Promise.all(cs.flatMap((c) => Array.from({ length: 10 }, () => c.prisma.user.findUnique({ where: { id: uid } }))))
    expect(new Set(results.map((r) => r?.name))).toEqual(new Set(['w1']))
    await settle()
    expect(cs.reduce((n, c) => n + c.sql.length, 0) - before).toBe(1)
    expect((await cs[3]!.prisma.user.findUnique({ where: { id: uid } }))?.name).toBe('w2')
  })

  it('never serves an entry a write invalidated', async () => {
    const [t] = group(1) as [TestClient]
    await t.prisma.user.findUnique({ where: { id: uid } })
    await age(t.prefix)
    await t.prisma.user.update({ where: { id: uid }, data: { name: 'x2' } })
    const read = await countSql(t, () => t.prisma.user.findUnique({ where: { id: uid } }))
    expect(read).toMatchObject({ sql: 1, value: { name: 'x2' } })
    expect(t.prisma.$cacheops.stats().staleHits).toBe(0)
  })

  it('does not store a refresh that a write invalidated while it ran', async () => {
    const [t] = group(1) as [TestClient]
    await rename('r1')
    await t.prisma.user.findMany({ where: { id: uid } })
    await age(t.prefix)
    const { client, paused, release } = pauseFirst(t, 'user', 'findMany', 'after')
    expect((await client.user.findMany({ where: { id: uid } }))[0]?.name).toBe('r1') // stale, refresh starts
    await paused // the refresh read the database (r1)...
    await t.prisma.user.update({ where: { id: uid }, data: { name: 'r2' } }) // ...then a write commits
    release()
    await settle()
    const read = await countSql(t, () => t.prisma.user.findMany({ where: { id: uid } }))
    expect(read).toMatchObject({ sql: 1, value: [{ name: 'r2' }] })
  })

  it('a failed refresh is reported and the next reader refreshes', async () => {
    const errors: Error[] = []
    const [t] = group(1, {}, (e) => errors.push(e)) as [TestClient]
    await t.prisma.tag.count()
    await age(t.prefix)
    let fail = true
    const failing = t.prisma.$extends({
      query: {
        tag: {
          async count({ args, query }) {
            if (fail) {
              fail = false
              throw new Error('refresh failed')
            }
            return query(args)
          },
        },
      },
    })
    expect(await failing.tag.count()).toBe(0) // stale value; its refresh fails
    await settle()
    expect(errors.some((e) => e instanceof CacheopsRefreshError && /refresh failed/.test(e.message))).toBe(true)
    await clients[0]!.base.tag.create({ data: { name: 'swr-tag' } })
    expect(await failing.tag.count()).toBe(0) // still stale, but this reader refreshes it
    await settle()
    expect(await countSql(t, () => t.prisma.tag.count())).toMatchObject({ sql: 0, value: 1 })
  })

  it('keeps the entry timeout + window seconds, and serves stale only after timeout', async () => {
    const [t] = group(1, { timeout: 1, staleWhileRevalidate: 30 }) as [TestClient]
    await rename('t1')
    await t.prisma.user.findFirst({ where: { id: uid } })
    const [entry] = await heldEntries(t.prefix)
    expect(entry!.ttlSeconds).toBeGreaterThan(25)
    await rename('t2')
    expect((await countSql(t, () => t.prisma.user.findFirst({ where: { id: uid } }))).value?.name).toBe('t1') // fresh hit
    await new Promise((r) => setTimeout(r, 1_100))
    expect((await t.prisma.user.findFirst({ where: { id: uid } }))?.name).toBe('t1') // stale
    await settle()
    expect((await t.prisma.user.findFirst({ where: { id: uid } }))?.name).toBe('t2')
  })

  it('without a window, an expired entry is a miss', async () => {
    const [t] = group(1, { timeout: 1, staleWhileRevalidate: 0 }) as [TestClient]
    await rename('n1')
    await t.prisma.user.findFirst({ where: { id: uid } })
    await rename('n2')
    await new Promise((r) => setTimeout(r, 1_100))
    expect(await countSql(t, () => t.prisma.user.findFirst({ where: { id: uid } }))).toMatchObject({ sql: 1, value: { name: 'n2' } })
  })

  it('is not served inside an interactive transaction', async () => {
    const [t] = group(1) as [TestClient]
    await rename('i1')
    await t.prisma.user.findUnique({ where: { id: uid } })
    await rename('i2')
    await age(t.prefix)
    const inTx = await t.prisma.$transaction((tx) => tx.user.findUnique({ where: { id: uid } }))
    expect(inTx?.name).toBe('i2')
  })

  it('applies to .cache() per call and to cachedAs', async () => {
    const prefix = newPrefix()
    const t = testClient(url, { prefix, models: {} })
    clients.push(t)
    await rename('c1')
    const read = () => t.prisma.user.cache({ timeout: 60, staleWhileRevalidate: 60 }).findUnique({ where: { id: uid } })
    await read()
    let runs = 0
    const fn = t.prisma.$cacheops.cachedAs(['User'], async () => ++runs, { timeout: 60, staleWhileRevalidate: 60, key: 'swr-fn' })
    expect(await fn()).toBe(1)
    await rename('c2')
    await age(prefix)
    expect((await read())?.name).toBe('c1')
    expect(await Promise.all([fn(), fn(), fn()])).toEqual([1, 1, 1])
    await settle()
    expect((await read())?.name).toBe('c2')
    expect(await fn()).toBe(2)
    expect(runs).toBe(2)
  })

  it('rejects a bad window with its path', () => {
    expect(() => group(1, { staleWhileRevalidate: -1 })).toThrow(CacheopsConfigError)
    expect(() => group(1, { staleWhileRevalidate: -1 })).toThrow(/models\.\*\.staleWhileRevalidate/)
    const [t] = group(1) as [TestClient]
    expect(() => t.prisma.user.cache({ staleWhileRevalidate: 1.5 })).toThrow(/staleWhileRevalidate/)
  })
})
