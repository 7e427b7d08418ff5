// Cross-process dog-pile protection: with `lock`, one caller computes a missing entry and
// the others wait for it (here: separate clients, each with its own Redis connections, as
// separate processes would have).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { RedisStore as CacheStore } from '../src/redis/store.ts'
import { LockWaiter } from '../src/redis/lockWaiter.ts'
import { freshDatabase, newPrefix, pauseFirst, REDIS_URL, startThrowawayRedis, testClient, type TestClient } from './helpers.ts'

let url: string
const clients: TestClient[] = []
let uid: number

beforeAll(async () => {
  url = await freshDatabase('locks')
  const setup = testClient(url)
  uid = (await setup.base.user.create({ data: { email: 'lock@l.io', posts: { create: [{ title: 'l1' }, { title: 'l2' }] } } })).id
  clients.push(setup)
})
afterAll(async () => {
  for (const c of clients) await c.close()
})

function group(n: number, lock: boolean): TestClient[] {
  const prefix = newPrefix()
  const made = Array.from({ length: n }, () => testClient(url, { prefix, models: { '*': { ops: 'all', timeout: 60, lock } } }))
  clients.push(...made)
  return made
}

describe('lock: true', () => {
  it('runs the query once for concurrent identical misses across clients', async () => {
    const cs = group(4, true)
    const before = cs.reduce((n, c) => n + c.sql.length, 0)
    const results = await Promise.all(cs.flatMap((c) => Array.from({ length: 10 }, () => c.prisma.post.findMany({ where: { authorId: uid } }))))
    const queries = cs.reduce((n, c) => n + c.sql.length, 0) - before
    expect(queries).toBe(1)
    expect(new Set(results.map((r) => r.length))).toEqual(new Set([2]))
  })

  it('without lock, each client runs its own query', async () => {
    const cs = group(4, false)
    const before = cs.reduce((n, c) => n + c.sql.length, 0)
    await Promise.all(cs.map((c) => c.prisma.post.findMany({ where: { authorId: uid } })))
    expect(cs.reduce((n, c) => n + c.sql.length, 0) - before).toBe(4)
  })

  it('waiters do not read a result invalidated while it was computed', async () => {
    const [a, b] = group(2, true) as [TestClient, TestClient]
    const { client, paused, release } = pauseFirst(a, 'post', 'findMany', 'after')
    const holder = client.post.findMany({ where: { authorId: uid } }).then((r) => r)
    await paused // a holds the lock and read the database
    const waiter = b.prisma.post.findMany({ where: { authorId: uid } }).then((r) => r)
    await b.prisma.post.create({ data: { title: 'l3', authorId: uid } }) // invalidates what a read
    await new Promise((r) => setTimeout(r, 20))
    release()
    expect((await holder).length).toBe(2)
    expect((await waiter).map((p) => p.title).sort()).toEqual(['l1', 'l2', 'l3'])
  })

  it('a failed computation releases the waiters at once', async () => {
    const [a, b] = group(2, true) as [TestClient, TestClient]
    let calls = 0
    let computing!: () => void
    const holderComputes = new Promise<void>((r) => (computing = r))
    const failing = a.prisma.$extends({
      query: {
        tag: {
          async count({ args, query }) {
            if (calls++ === 0) {
              computing() // holds the lock now: the waiter starts only then
              await new Promise((r) => setTimeout(r, 100))
              throw new Error('holder failed')
            }
            return query(args)
          },
        },
      },
    })
    const started = Date.now()
    const [h, w] = await Promise.allSettled([failing.tag.count(), holderComputes.then(() => b.prisma.tag.count())])
    expect(h.status).toBe('rejected')
    expect(w).toMatchObject({ status: 'fulfilled', value: 0 })
    expect(Date.now() - started).toBeLessThan(4_000) // well before the 5 s wait limit
  })
})

describe('a lookup after a lock wait', () => {
  it('takes a new token: a stamp it makes again never matches a lease another reader took on the one a write deleted', async () => {
    const [h, a, b] = group(3, true) as [TestClient, TestClient, TestClient]
    const redis = new Redis(REDIS_URL)
    try {
      const author = (await h.base.user.create({ data: { email: `lock-token-${Date.now()}@l.io` } })).id
      const post = await h.base.post.create({ data: { title: 'v0', authorId: author } })
      const stamp = `${h.prefix}c:Post:authorId=${author}`
      const list = (c: TestClient['prisma']) => c.post.findMany({ where: { authorId: author }, select: { title: true } })
      const first = (c: TestClient['prisma']) => c.post.findFirst({ where: { authorId: author }, select: { title: true } })
      // h holds the entry's lock between its database read and its store.
      const hold = pauseFirst(h, 'post', 'findMany', 'after')
      const holder = list(hold.client).then((r) => r)
      await hold.paused
      await h.prisma.post.update({ where: { id: post.id }, data: { title: 'v1' } }) // deletes the stamp
      // a misses and waits for the lock; its lease made the stamp again.
      const waiter = list(a.prisma).then((r) => r)
      for (let i = 0; i < 500 && (await redis.get(stamp)) === null; i++) await new Promise((r) => setTimeout(r, 5))
      // b (another query on the same conjunction) leases that stamp and reads v1; a write
      // after its read deletes the stamp again.
      const slow = pauseFirst(b, 'post', 'findFirst', 'after')
      const reader = first(slow.client).then((r) => r)
      await slow.paused
      await h.prisma.post.update({ where: { id: post.id }, data: { title: 'v2' } })
      // h's store is refused and it releases the lock: a looks up again and makes the
      // stamp again, which must not be the value b recorded.
      hold.release()
      await holder
      expect((await waiter).map((p) => p.title)).toEqual(['v2'])
      slow.release()
      expect((await reader)?.title).toBe('v1') // read before the write: fine to return
      expect((await first(b.prisma))?.title).toBe('v2')
      expect((await first(h.prisma))?.title).toBe('v2')
    } finally {
      redis.disconnect()
    }
  })
})

describe('lock on cachedAs and cached', () => {
  it('computes once across clients', async () => {
    const cs = group(3, false)
    let runs = 0
    const fns = cs.map((c) =>
      c.prisma.$cacheops.cached(async () => {
        runs++
        await new Promise((r) => setTimeout(r, 50))
        return 'value'
      }, { timeout: 30, key: 'locked-fn', lock: true }),
    )
    const out = await Promise.all(fns.flatMap((f) => [f(), f()]))
    expect(out.every((v) => v === 'value')).toBe(true)
    expect(runs).toBe(1)
  })
})

describe('a lock wait on a Redis that stops answering', () => {
  it('ends at its own timeout, even before its subscription was confirmed', async () => {
    const server = await startThrowawayRedis(27_100 + Math.floor(Math.random() * 800))
    const redis = new Redis(server.url) // no command timeout: a subscription would wait forever
    redis.on('error', () => {})
    const store = new CacheStore(redis, newPrefix())
    const locks = new LockWaiter(redis, `${store.prefix}unlock`, () => new Promise<boolean>(() => {}))
    try {
      await redis.ping()
      server.process.kill('SIGSTOP')
      const started = Date.now()
      await locks.wait(`${store.prefix}r:some-entry`, 300)
      // Not the 2 s command deadline, nor forever: the wait's own 300 ms.
      expect(Date.now() - started).toBeLessThan(1_500)
    } finally {
      server.process.kill('SIGCONT')
      await locks.close()
      redis.disconnect()
      await server.kill()
    }
  })
})
