// Redis misbehaving under a running workload, each case on a throwaway redis-server of this
// test's own: scripts flushed, the database flushed from outside, memory evicting keys.
import { spawn, type ChildProcess } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { freshDatabase, testClient, type TestClient } from './helpers.ts'

const port = 19500 + Math.floor(Math.random() * 400)
const url = `redis://127.0.0.1:${port}/0`
let server: ChildProcess
let admin: Redis
let t: TestClient
let authors: number[] = []

beforeAll(async () => {
  // Small memory with allkeys-lru: the cache's own keys get evicted under writes.
  server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory', '2mb', '--maxmemory-policy', 'allkeys-lru'], { stdio: 'ignore' })
  admin = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => 50 })
  admin.on('error', () => {})
  for (let i = 0; i < 100 && !(await admin.ping().then(() => true, () => false)); i++) await new Promise((r) => setTimeout(r, 50))
  t = testClient(await freshDatabase('redis_faults'), { redis: url })
  for (let i = 0; i < 4; i++) authors.push((await t.base.user.create({ data: { email: `f${i}@f.io` } })).id)
  for (let i = 0; i < 40; i++) await t.base.post.create({ data: { title: `f-${i}`, authorId: authors[i % 4]!, views: i } })
})
afterAll(async () => {
  await t.close()
  admin.disconnect()
  server.kill('SIGKILL')
})

const shapes = (p: TestClient['prisma'] | TestClient['base']) => [
  ...authors.map((a) => () => p.post.findMany({ where: { authorId: a }, orderBy: { id: 'asc' } })),
  () => p.post.count({ where: { published: true } }),
  () => p.user.findMany({ include: { posts: { orderBy: { id: 'asc' } } }, orderBy: { id: 'asc' } }),
  () => p.post.aggregate({ _sum: { views: true } }),
]

const text = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x))

async function compareAll(): Promise<number> {
  let stale = 0
  const cached = shapes(t.prisma)
  const fresh = shapes(t.base)
  for (let i = 0; i < cached.length; i++) if (text(await cached[i]!()) !== text(await fresh[i]!())) stale++
  return stale
}

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
})
