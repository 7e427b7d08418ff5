// Redis failures with a throwaway redis-server of the test's own (never the shared one).
import { spawn, type ChildProcess } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import type { CacheopsEvent } from '../src/index.ts'
import { countSql, freshDatabase, testClient, type TestClient } from './helpers.ts'

const port = 17000 + Math.floor(Math.random() * 2000)
const url = `redis://127.0.0.1:${port}/0`
let server: ChildProcess
let dbUrl: string

beforeAll(async () => {
  server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => 50 })
  probe.on('error', () => {}) // refused until the server is up
  for (let i = 0; i < 100; i++) {
    if (await probe.ping().then(() => true, () => false)) break
    await new Promise((r) => setTimeout(r, 50))
  }
  probe.disconnect()
  dbUrl = await freshDatabase('redis_failure')
})
afterAll(() => {
  server.kill('SIGCONT')
  server.kill('SIGKILL')
})

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

      server.kill('SIGSTOP') // Redis hangs: commands time out
      const post = await t.base.post.findFirstOrThrow({ where: { authorId: author.id } })
      const updated = await t.prisma.post.update({ where: { id: post.id }, data: { title: 'after' } })
      expect(updated.title).toBe('after') // the database write succeeded
      expect(errors.some((e) => (e as { operation?: string }).operation === 'invalidate')).toBe(true)
      // This process does not trust the cache for Post until the invalidation got through.
      expect(await countSql(t, read(t))).toEqual({ value: ['after'], sql: 1 })

      server.kill('SIGCONT')
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
      server.kill('SIGCONT')
      await other.close()
      await t.close()
    }
  }, 60_000)
})

describe('while an invalidation is pending', () => {
  it('this process reads the models it touched from the database, even though Redis answers reads', async () => {
    // A Redis that serves reads but refuses deletes: invalidations fail, reads do not.
    const noDelPort = port + 1
    const noDel = spawn('redis-server', ['--port', String(noDelPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--rename-command', 'DEL', ''], { stdio: 'ignore' })
    const noDelUrl = `redis://127.0.0.1:${noDelPort}/0`
    const probe = new Redis(noDelUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => 50 })
    probe.on('error', () => {})
    for (let i = 0; i < 100 && !(await probe.ping().then(() => true, () => false)); i++) await new Promise((r) => setTimeout(r, 50))
    probe.disconnect()
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
      noDel.kill('SIGKILL')
    }
  }, 60_000)
})

describe('circuit breaker', () => {
  it('after repeated connection failures skips Redis at once for a moment, then tries again', async () => {
    const errors: Error[] = []
    const t = testClient(dbUrl, { redis: url, onError: (e) => errors.push(e) })
    try {
      const u = await t.base.user.create({ data: { email: 'breaker@r.io' } })
      const read = () => t.prisma.user.findUnique({ where: { id: u.id } })
      await read()
      server.kill('SIGSTOP')
      for (let i = 0; i < 3; i++) expect((await read())?.id).toBe(u.id) // each times out, then the database
      const before = errors.length
      expect((await read())?.id).toBe(u.id)
      const skipped = errors.slice(before).map((e) => e.message)
      expect(skipped.length).toBeGreaterThan(0)
      expect(skipped.every((m) => m.includes('circuit open'))).toBe(true) // failed at once, no timeout
      server.kill('SIGCONT')
      await new Promise((r) => setTimeout(r, 1_200)) // the cool-down
      await read()
      expect((await countSql(t, read)).sql).toBe(0) // the cache serves again
    } finally {
      server.kill('SIGCONT')
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
