// Redis misbehaving under a running workload, each case on a throwaway redis-server of this
// test's own: scripts flushed, the database flushed from outside, memory evicting keys.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { freshDatabase, startThrowawayRedis, staleWorkloadReads, testClient, workloadReads, type TestClient, type ThrowawayRedis } from './helpers.ts'

const port = 19500 + Math.floor(Math.random() * 400)
const url = `redis://127.0.0.1:${port}/0`
let server: ThrowawayRedis
let admin: Redis
let t: TestClient
let dbUrl: string
let authors: number[] = []

beforeAll(async () => {
  // Small memory with allkeys-lru: the cache's own keys get evicted under writes.
  server = await startThrowawayRedis(port, ['--maxmemory', '2mb', '--maxmemory-policy', 'allkeys-lru'])
  admin = new Redis(url)
  dbUrl = await freshDatabase('redis_faults')
  t = testClient(dbUrl, { redis: url, onError: () => {} })
  for (let i = 0; i < 4; i++) authors.push((await t.base.user.create({ data: { email: `f${i}@f.io` } })).id)
  for (let i = 0; i < 40; i++) await t.base.post.create({ data: { title: `f-${i}`, authorId: authors[i % 4]!, views: i } })
})
afterAll(async () => {
  await t.close()
  admin.disconnect()
  await server.kill()
})

const shapes = (p: TestClient['prisma'] | TestClient['base']) => workloadReads(p, authors)
const compareAll = () => staleWorkloadReads(t, authors)

describe('Redis faults under a workload', () => {
  it('SCRIPT FLUSH: scripts are loaded again, nothing fails, nothing is stale', async () => {
    await compareAll()
    await admin.script('FLUSH')
    const post = await t.base.post.findFirstOrThrow({ where: { authorId: authors[0] } })
    await t.prisma.post.update({ where: { id: post.id }, data: { published: !post.published } })
    expect(await compareAll()).toBe(0)
  })

  it('FLUSHDB from outside: everything is a miss, never a stale hit', async () => {
    await compareAll()
    await admin.flushdb()
    await t.prisma.post.updateMany({ where: { authorId: authors[1] }, data: { published: true } })
    expect(await compareAll()).toBe(0)
  })

  it('maxmemory with allkeys-lru under a write-heavy workload: 0 stale reads', async () => {
    // Fill memory with unrelated keys so that the cache's keys keep being evicted.
    const filler = 'x'.repeat(20_000)
    let seed = 7
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n)
    let stale = 0
    for (let step = 0; step < 40; step++) {
      for (let k = 0; k < 10; k++) await admin.set(`filler:${step}:${k}`, filler).catch(() => undefined)
      for (const s of shapes(t.prisma)) await s()
      const posts = await t.base.post.findMany({ select: { id: true } })
      const id = posts[rand(posts.length)]!.id
      const kind = rand(3)
      if (kind === 0) await t.prisma.post.update({ where: { id }, data: { authorId: authors[rand(4)]! } })
      else if (kind === 1) await t.prisma.post.update({ where: { id }, data: { views: { increment: 1 } } })
      else await t.prisma.post.updateMany({ where: { authorId: authors[rand(4)]! }, data: { published: rand(2) === 0 } })
      stale += await compareAll()
    }
    const info = await admin.info('stats')
    expect(Number(/evicted_keys:(\d+)/.exec(info)?.[1] ?? 0)).toBeGreaterThan(0) // evictions really happened
    expect(stale).toBe(0)
  }, 120_000)

  it('maxmemory with noeviction (OOM errors): no request fails, another client reads nothing stale', async () => {
    const oomErrors: Error[] = []
    const other = testClient(dbUrl, { redis: url, prefix: t.prefix, onError: (e) => /OOM/.test(e.message) && oomErrors.push(e) })
    try {
      await admin.config('SET', 'maxmemory-policy', 'noeviction')
      for (const s of shapes(other.prisma)) await s() // cached before memory runs out
      // Memory above the limit, which stays there: every command that may grow memory is
      // refused with an OOM error (DEL still works).
      const used = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))?.[1])
      await admin.config('SET', 'maxmemory', String(Math.floor(used / 2)))
      await expect(admin.set('oom-probe', 'x')).rejects.toThrow(/OOM/)
      let seed = 3
      const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n)
      let stale = 0
      for (let step = 0; step < 20; step++) {
        const posts = await t.base.post.findMany({ select: { id: true } })
        const id = posts[rand(posts.length)]!.id
        if (rand(2) === 0) await t.prisma.post.update({ where: { id }, data: { authorId: authors[rand(4)]! } })
        else await t.prisma.post.updateMany({ where: { authorId: authors[rand(4)]! }, data: { views: { increment: 1 } } })
        stale += await staleWorkloadReads(other, authors) // at once, from the other client
      }
      expect(stale).toBe(0)
      expect(oomErrors.length).toBeGreaterThan(0) // the cache really met OOM errors (and read the database)
    } finally {
      await other.close()
      await admin.config('SET', 'maxmemory', '2mb')
      await admin.config('SET', 'maxmemory-policy', 'allkeys-lru')
    }
  }, 60_000)
})
