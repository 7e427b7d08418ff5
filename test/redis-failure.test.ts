// Redis failures with a throwaway redis-server of the test's own (never the shared one).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CacheopsEvent } from '../src/index.ts'
import { countSql, freshDatabase, startThrowawayRedis, testClient, type TestClient, type ThrowawayRedis } from './helpers.ts'

const port = 17000 + Math.floor(Math.random() * 2000)
const url = `redis://127.0.0.1:${port}/0`
let server: ThrowawayRedis
let dbUrl: string

beforeAll(async () => {
  server = await startThrowawayRedis(port)
  dbUrl = await freshDatabase('redis_failure')
})
afterAll(() => server.kill())

describe('an invalidation that cannot reach Redis', () => {
  it('is kept and retried; until then this process reads the model from the database', async () => {
    const events: CacheopsEvent[] = []
    const errors: Error[] = []
    const t: TestClient = testClient(dbUrl, { redis: url, onEvent: (e) => events.push(e), onError: (e) => errors.push(e) })
    const other = testClient(dbUrl, { redis: url, prefix: t.prefix })
    try {
      const author = await t.base.user.create({ data: { email: 'rf@r.io', posts: { create: { title: 'before' } } } })
      const read = (c: TestClient) => () => c.prisma.post.findMany({ where: { authorId: author.id } }).then((ps) => ps.map((p) => p.title))
      expect(await read(t)()).toEqual(['before'])
      expect(await countSql(other, read(other))).toEqual({ value: ['before'], sql: 0 }) // cached in Redis

      server.process.kill('SIGSTOP') // Redis hangs: commands time out
      const post = await t.base.post.findFirstOrThrow({ where: { authorId: author.id } })
      const updated = await t.prisma.post.update({ where: { id: post.id }, data: { title: 'after' } })
      expect(updated.title).toBe('after') // the database write succeeded
      expect(errors.some((e) => (e as { operation?: string }).operation === 'invalidate')).toBe(true)
      // This process does not trust the cache for Post until the invalidation got through.
      expect(await countSql(t, read(t))).toEqual({ value: ['after'], sql: 1 })

      server.process.kill('SIGCONT')
      for (let i = 0; i < 100 && !events.some((e) => e.type === 'invalidate' && e.cause.startsWith('retry of Post.update')); i++) {
        await new Promise((r) => setTimeout(r, 100))
      }
      expect(events.some((e) => e.type === 'invalidate' && e.cause.startsWith('retry of Post.update'))).toBe(true)
      // Another process sees the invalidation now: no stale read after recovery.
      expect(await read(other)()).toEqual(['after'])
      // And this one uses the cache again.
      await read(t)()
      expect((await countSql(t, read(t))).sql).toBe(0)
    } finally {
      server.process.kill('SIGCONT')
      await other.close()
      await t.close()
    }
  }, 60_000)
})

describe('while an invalidation is pending', () => {
  it('this process reads the models it touched from the database, even though Redis answers reads', async () => {
    // A Redis that serves reads but refuses deletes: invalidations fail, reads do not.
    const noDelPort = port + 1
    const noDel = await startThrowawayRedis(noDelPort, ['--rename-command', 'DEL', ''])
    const noDelUrl = noDel.url
    const t = testClient(dbUrl, { redis: noDelUrl, onError: () => {} })
    try {
      const author = await t.base.user.create({ data: { email: 'pending@r.io', posts: { create: { title: 'v1' } } } })
      const posts = () => t.prisma.post.findMany({ where: { authorId: author.id } }).then((ps) => ps.map((p) => p.title))
      const users = () => t.prisma.user.findUnique({ where: { id: author.id } })
      await posts()
      await users()
      expect((await countSql(t, posts)).sql).toBe(0)
      let runs = 0
      const titles = t.prisma.$cacheops.cachedAs(['Post'], async () => (++runs, posts()), { timeout: 60 })
      await titles()
      await titles()
      expect(runs).toBe(1)
      const post = await t.base.post.findFirstOrThrow({ where: { authorId: author.id } })
      await t.prisma.post.update({ where: { id: post.id }, data: { title: 'v2' } }) // its invalidation fails
      expect(await countSql(t, posts)).toEqual({ value: ['v2'], sql: 1 }) // not the stale entry
      expect(await titles()).toEqual(['v2']) // memoized functions depending on Post too
      expect(runs).toBe(2)
      expect((await countSql(t, users)).sql).toBe(0) // other models still use the cache
    } finally {
      await t.prisma.$cacheops.invalidateAll().catch(() => undefined)
      await t.close()
      await noDel.kill()
    }
  }, 60_000)
})

describe('an invalidation Redis answers with an error (OOM, a script error)', () => {
  it('is replaced at once by its coarse form, so another process never reads the stale entry', async () => {
    // A Redis whose invalidation script fails half-way: HINCRBY (lowering a mass write's
    // guard, before any deletion; lua/include/guard.lua) is unknown. Redis is up, so plain
    // DELs go through.
    const noHincrbyPort = port + 2
    const server2 = await startThrowawayRedis(noHincrbyPort, ['--rename-command', 'HINCRBY', ''])
    const url2 = server2.url
    const errors: Error[] = []
    const writer = testClient(dbUrl, { redis: url2, onError: (e) => errors.push(e) })
    const reader = testClient(dbUrl, { redis: url2, prefix: writer.prefix, onError: () => {} })
    try {
      const author = await writer.base.user.create({ data: { email: 'decr@r.io', posts: { create: [{ title: 'd1' }, { title: 'd2' }] } } })
      const read = () => reader.prisma.post.findMany({ where: { authorId: author.id } }).then((ps) => ps.length)
      expect(await read()).toBe(2)
      expect(await countSql(reader, read)).toEqual({ value: 2, sql: 0 })
      await writer.prisma.post.deleteMany({ where: { authorId: author.id } })
      expect(errors.some((e) => /HINCRBY|unknown command|Unknown Redis command/i.test(e.message))).toBe(true) // it really failed
      expect(await read()).toBe(0) // at once, in another process
      expect(writer.prisma.$cacheops.stats().pendingInvalidations).toBe(0)
    } finally {
      await writer.close()
      await reader.close()
      await server2.kill()
    }
  }, 30_000)
})

describe('circuit breaker', () => {
  it('after repeated connection failures skips Redis at once for a moment, then tries again', async () => {
    const errors: Error[] = []
    const t = testClient(dbUrl, { redis: url, onError: (e) => errors.push(e) })
    try {
      const u = await t.base.user.create({ data: { email: 'breaker@r.io' } })
      const read = () => t.prisma.user.findUnique({ where: { id: u.id } })
      await read()
      server.process.kill('SIGSTOP')
      for (let i = 0; i < 3; i++) expect((await read())?.id).toBe(u.id) // each times out, then the database
      const before = errors.length
      expect((await read())?.id).toBe(u.id)
      const skipped = errors.slice(before).map((e) => e.message)
      expect(skipped.length).toBeGreaterThan(0)
      expect(skipped.every((m) => m.includes('circuit open'))).toBe(true) // failed at once, no timeout
      // While it stays hung, the breaker probes in the background: no request ever waits
      // for a probe's 2 s timeout.
      let slowest = 0
      for (const end = Date.now() + 3_500; Date.now() < end; ) {
        const t0 = Date.now()
        expect((await read())?.id).toBe(u.id)
        slowest = Math.max(slowest, Date.now() - t0)
        await new Promise((r) => setTimeout(r, 20))
      }
      expect(slowest).toBeLessThan(1_500)
      server.process.kill('SIGCONT')
      await new Promise((r) => setTimeout(r, 1_200)) // the cool-down
      await read()
      expect((await countSql(t, read)).sql).toBe(0) // the cache serves again
    } finally {
      server.process.kill('SIGCONT')
      await t.close()
    }
  }, 60_000)
})

describe('degradeOnFailure: false', () => {
  it('makes a failed cache read throw, and still never fails a write', async () => {
    const t = testClient(dbUrl, { redis: 'redis://127.0.0.1:1/0', degradeOnFailure: false, onError: () => {} })
    try {
      await expect(t.prisma.user.count()).rejects.toMatchObject({ name: 'CacheopsRedisError', operation: 'read' })
      const u = await t.prisma.user.create({ data: { email: 'strict@r.io' } })
      expect(u.email).toBe('strict@r.io')
      expect(await t.prisma.user.nocache().count()).toBeGreaterThan(0)
    } finally {
      await t.close()
    }
  }, 30_000)
})
