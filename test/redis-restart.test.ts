// Redis restarts, on a throwaway redis-server of this test's own that can persist to disk:
// killed with SIGKILL and started again from its last snapshot, as a crash with RDB
// persistence (or a failover to a lagging replica) would bring it back.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import type { CacheopsEvent } from '../src/index.ts'
import { countSql, freshDatabase, newPrefix, startThrowawayRedis, staleWorkloadReads, testClient, workloadReads, type TestClient, type ThrowawayRedis } from './helpers.ts'

const port = 21000 + Math.floor(Math.random() * 2000)
const url = `redis://127.0.0.1:${port}/0`
const dir = mkdtempSync(join(tmpdir(), 'cacheops-restart-'))
let server: ThrowawayRedis | undefined
let admin: Redis
let dbUrl: string
const clients: TestClient[] = []
let authors: number[] = []

async function startRedis(): Promise<void> {
  server = await startThrowawayRedis(port, ['--dir', dir, '--dbfilename', 'dump.rdb'])
}
async function killRedis(): Promise<void> {
  await server?.kill()
  server = undefined
}

beforeAll(async () => {
  await startRedis()
  admin = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => 50 })
  admin.on('error', () => {})
  dbUrl = await freshDatabase('redis_restart')
  const setup = testClient(dbUrl, { redis: url })
  clients.push(setup)
  for (let i = 0; i < 4; i++) authors.push((await setup.base.user.create({ data: { email: `r${i}@r.io` } })).id)
  for (let i = 0; i < 40; i++) await setup.base.post.create({ data: { title: `r-${i}`, authorId: authors[i % 4]!, views: i } })
})
afterAll(async () => {
  for (const c of clients) await c.close()
  admin.disconnect()
  await server?.kill()
  rmSync(dir, { recursive: true, force: true })
})

function pair(events?: CacheopsEvent[]): [TestClient, TestClient] {
  const prefix = newPrefix()
  const a = testClient(dbUrl, { redis: url, prefix, onError: () => {}, ...(events ? { onEvent: (e: CacheopsEvent) => events.push(e) } : {}) })
  const b = testClient(dbUrl, { redis: url, prefix, onError: () => {} })
  clients.push(a, b)
  return [a, b]
}

const shapes = (p: TestClient['prisma'] | TestClient['base']) => workloadReads(p, authors)
const staleReads = (t: TestClient) => staleWorkloadReads(t, authors)

async function until(cond: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('Redis restarts', () => {
  it('coming back from a snapshot older than an invalidation, it serves nothing stale', async () => {
    const events: CacheopsEvent[] = []
    const [a, b] = pair(events)
    const read = (c: TestClient) => () => c.prisma.post.findMany({ where: { authorId: authors[0] }, orderBy: { id: 'asc' } }).then((ps) => ps.map((p) => p.title))
    const before = await read(a)()
    expect(await countSql(b, read(b))).toEqual({ value: before, sql: 0 })
    await admin.save() // the snapshot holds the entry and the stamps it depends on
    const first = await a.base.post.findFirstOrThrow({ where: { authorId: authors[0] }, orderBy: { id: 'asc' } })
    await a.prisma.post.update({ where: { id: first.id }, data: { title: 'renamed after the snapshot' } })
    const after = await read(b)() // invalidated in Redis, read again and cached
    expect(after[0]).toBe('renamed after the snapshot')

    await killRedis()
    await startRedis() // back from the snapshot: the old stamps and entry are back
    // Until each client knows whether Redis restarted, it reads from the database; then
    // the restarted Redis is cleared under the prefix.
    for (const c of [b, a]) {
      await until(async () => (await countSql(c, read(c))).sql === 0) // the cache serves again
      expect(await read(c)()).toEqual(after)
    }
    expect(events.some((e) => e.type === 'invalidate' && e.cause === 'Redis restart')).toBe(true)
  }, 30_000)

  it('a restart during a read/write workload: 0 failed requests, 0 stale reads after recovery', async () => {
    const [a, b] = pair()
    let running = true
    let failed = 0
    let requests = 0
    const errors: unknown[] = []
    let seed = 11
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n)
    const reader = async (c: TestClient) => {
      const s = shapes(c.prisma)
      while (running) {
        requests++
        await s[rand(s.length)]!().catch((e) => (failed++, errors.push(e)))
      }
    }
    const writer = async (c: TestClient) => {
      while (running) {
        requests++
        const id = (await c.base.post.findMany({ select: { id: true } }))[rand(40)]!.id
        const write = rand(3) === 0
          ? c.prisma.post.update({ where: { id }, data: { authorId: authors[rand(4)]! } })
          : rand(2) === 0
            ? c.prisma.post.update({ where: { id }, data: { published: rand(2) === 0, views: { increment: 1 } } })
            : c.prisma.post.updateMany({ where: { authorId: authors[rand(4)]! }, data: { published: rand(2) === 0 } })
        await write.catch((e) => (failed++, errors.push(e)))
      }
    }
    const work = Promise.all([reader(a), reader(a), reader(b), reader(b), writer(a), writer(b)])
    await new Promise((r) => setTimeout(r, 700))
    await admin.save()
    await new Promise((r) => setTimeout(r, 300)) // writes after the snapshot, then a crash
    await killRedis()
    await new Promise((r) => setTimeout(r, 800)) // down: refused connections
    await startRedis()
    await new Promise((r) => setTimeout(r, 1_500))
    running = false
    await work
    expect(errors).toEqual([])
    expect(failed).toBe(0)
    expect(requests).toBeGreaterThan(100)
    // Recovered: the kept invalidations got through, and nothing either client reads is stale.
    await until(() => a.prisma.$cacheops.stats().pendingInvalidations === 0 && b.prisma.$cacheops.stats().pendingInvalidations === 0)
    for (let round = 0; round < 2; round++) {
      expect(await staleReads(a)).toBe(0)
      expect(await staleReads(b)).toBe(0)
    }
    // And the cache is in use again.
    expect((await countSql(b, shapes(b.prisma)[0]!)).sql).toBe(0)
  }, 60_000)
})
