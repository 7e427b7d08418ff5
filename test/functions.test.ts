import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CacheMiss, CacheopsConfigError } from '../src/index.ts'
import { freshDatabase, rawRedis, REDIS_URL, testClient, type TestClient, storeConfig } from './helpers.ts'
import { itRedis } from './stores.ts'

let t: TestClient
let uid: number
let cat3: number
let cat4: number

beforeAll(async () => {
  t = testClient(await freshDatabase('functions'))
  uid = (await t.base.user.create({ data: { email: 'fn@f.io' } })).id
  cat3 = (await t.base.category.create({ data: { title: 'three' } })).id
  cat4 = (await t.base.category.create({ data: { title: 'four' } })).id
})
afterAll(async () => {
  await t.prisma.$cacheops.invalidateAll()
  await t.close()
})

describe('cachedAs', () => {
  it('is invalidated by a write its where matches, not by others', async () => {
    let runs = 0
    const block = t.prisma.$cacheops.cachedAs([{ model: 'Post', where: { categoryId: cat3, published: true } }, 'Category'], async (n: number) => {
      runs++
      return (await t.base.post.findMany({ where: { categoryId: cat3, published: true }, take: n })).map((p) => p.title)
    }, { timeout: 600, extra: 'v2' })
    expect(await block(5)).toEqual([])
    expect(await block(5)).toEqual([])
    expect(runs).toBe(1)
    await t.prisma.post.create({ data: { title: 'in four', authorId: uid, categoryId: cat4, published: true } })
    expect(await block(5)).toEqual([])
    expect(runs).toBe(1) // category 4: not a dependency
    await t.prisma.post.create({ data: { title: 'in three', authorId: uid, categoryId: cat3, published: true } })
    expect(await block(5)).toEqual(['in three'])
    expect(runs).toBe(2)
    await block(1) // other arguments: their own entry
    expect(runs).toBe(3)
    await block.invalidate(5)
    await block(5)
    expect(runs).toBe(4)
    await block(1)
    expect(runs).toBe(4)
    expect(block.key(5)).toMatch(/^cacheops-test:.*:r:f/)
    expect(block.key(5)).not.toBe(block.key(1))
  })

  it('never stores a result whose dependencies were invalidated while it was computed', async () => {
    let release!: () => void
    let started!: () => void
    const inside = new Promise<void>((r) => (started = r))
    let runs = 0
    const count = t.prisma.$cacheops.cachedAs([{ model: 'Post', where: { categoryId: cat4 } }], async () => {
      runs++
      const n = await t.base.post.count({ where: { categoryId: cat4 } })
      if (runs === 1) {
        started()
        await new Promise<void>((r) => (release = r))
      }
      return n
    }, { timeout: 600 })
    const first = count()
    await inside
    await t.prisma.post.create({ data: { title: 'mid-computation', authorId: uid, categoryId: cat4 } })
    release()
    const stale = await first
    expect(await count()).toBe(stale + 1) // recomputed: the stale result was not stored
    expect(runs).toBe(2)
  })

  it('depends on one row with { model, obj }, on a whole model by name', async () => {
    const post = await t.base.post.create({ data: { title: 'obj-dep', authorId: uid } })
    let runs = 0
    const f = t.prisma.$cacheops.cachedAs([{ model: 'Post', obj: post }], () => ++runs, { timeout: 60 })
    await f()
    await t.prisma.post.create({ data: { title: 'another row', authorId: uid } })
    await f()
    expect(runs).toBe(1)
    await t.prisma.post.update({ where: { id: post.id }, data: { views: 1 } })
    await f()
    expect(runs).toBe(2)
    let tagRuns = 0
    const g = t.prisma.$cacheops.cachedAs(['Tag'], () => ++tagRuns, { timeout: 60, key: 'stable-name', tags: ['fn-tag'] })
    await g()
    await t.prisma.tag.create({ data: { name: 'any tag' } })
    await g()
    expect(tagRuns).toBe(2)
    await t.prisma.$cacheops.invalidateTags('fn-tag')
    await g()
    expect(tagRuns).toBe(3)
    // A stable key: another function under the same name shares the entry.
    const h = t.prisma.$cacheops.cachedAs(['Tag'], () => -1, { timeout: 60, key: 'stable-name' })
    expect(await h()).toBe(3)
  })

  it('takes the smallest profile timeout of its dependencies, and needs one', async () => {
    const c = testClient(await freshDatabase('functions_cfg'), { models: { Post: { timeout: 30 }, User: { timeout: 10 } } })
    try {
      const f = c.prisma.$cacheops.cachedAs(['Post', 'User'], () => 1)
      expect(await f()).toBe(1)
      expect(() => c.prisma.$cacheops.cachedAs(['Tag'], () => 1)).toThrow(CacheopsConfigError)
      expect(() => c.prisma.$cacheops.cachedAs(['Nope' as never], () => 1, { timeout: 5 })).toThrow(/unknown model/)
    } finally {
      await c.prisma.$cacheops.invalidateAll()
      await c.close()
    }
  })
})

describe('cached', () => {
  it('memoizes by arguments (or argsRewrite), with hit/miss callbacks, refresh and peek', async () => {
    let runs = 0
    const hits: unknown[] = []
    const misses: unknown[] = []
    const f = t.prisma.$cacheops.cached(async (a: number, _ignored: string) => ({ a, run: ++runs, at: new Date(0) }), {
      timeout: 60,
      argsRewrite: (a) => [a],
      onHit: (args) => hits.push(args),
      onMiss: (args) => misses.push(args),
    })
    await expect(f.peek(1, 'x')).rejects.toBeInstanceOf(CacheMiss)
    expect(await f(1, 'x')).toEqual({ a: 1, run: 1, at: new Date(0) })
    expect(await f(1, 'y')).toEqual({ a: 1, run: 1, at: new Date(0) }) // rewritten away
    expect(hits).toEqual([[1, 'y']])
    expect(misses).toEqual([[1, 'x']])
    expect((await f.refresh(1, 'z')).run).toBe(2)
    expect((await f.peek(1, 'q')).run).toBe(2)
    expect(runs).toBe(2)
  })

  it('caches undefined as a value (not as a miss)', async () => {
    let runs = 0
    const f = t.prisma.$cacheops.cached(async () => {
      runs++
      return undefined
    }, { timeout: 60 })
    expect(await f()).toBeUndefined()
    expect(await f()).toBeUndefined()
    expect(runs).toBe(1)
  })

  it('storeResult: false makes a guard that runs once per timeout', async () => {
    let runs = 0
    const once = t.prisma.$cacheops.cached(async (k: string) => `ran ${++runs} for ${k}`, { timeout: 60, storeResult: false })
    expect(await once('job')).toBe('ran 1 for job')
    expect(await once('job')).toBe(true)
    expect(runs).toBe(1)
  })

  it('cacheErrors caches and re-throws those exceptions only', async () => {
    class NotFound extends Error {
      code = 404
    }
    let runs = 0
    const f = t.prisma.$cacheops.cached(async (kind: string) => {
      runs++
      if (kind === 'nf') throw new NotFound('missing thing')
      throw new TypeError('boom')
    }, { timeout: 60, cacheErrors: [NotFound] })
    await expect(f('nf')).rejects.toBeInstanceOf(NotFound)
    const again = await f('nf').catch((e: unknown) => e)
    expect(again).toBeInstanceOf(NotFound)
    expect(again).toMatchObject({ message: 'missing thing', code: 404 })
    expect(runs).toBe(1)
    await expect(f('other')).rejects.toBeInstanceOf(TypeError)
    await expect(f('other')).rejects.toBeInstanceOf(TypeError)
    expect(runs).toBe(3)
  })

  it('types: the wrapper keeps the function’s parameters and result', async () => {
    const f = t.prisma.$cacheops.cached(async (n: number) => ({ n }), { timeout: 5 })
    const r: { n: number } = await f(1)
    // @ts-expect-error a string is not a number
    await f('1').catch(() => undefined)
    expect(r.n).toBe(1)
  })
})

describe('invalidating a memoized result', () => {
  it('while a computation for those arguments runs: its result is not stored', async () => {
    let release: (() => void) | undefined
    let runs = 0
    const f = t.prisma.$cacheops.cached(
      async (x: number) => {
        runs++
        if (runs === 1) await new Promise<void>((r) => (release = r))
        return x * runs
      },
      { timeout: 60, key: 'in-flight-invalidate' },
    )
    const first = f(3)
    while (!release) await new Promise((r) => setTimeout(r, 1))
    await f.invalidate(3) // the value being computed is already out of date
    release()
    expect(await first).toBe(3)
    await new Promise((r) => setTimeout(r, 20)) // its store, refused, has landed
    expect(await f(3)).toBe(6) // computed again: the first result was not stored
    expect(await f(3)).toBe(6) // this one was
    expect(runs).toBe(2)
  })
})

describe('standalone cached', () => {
  it('memoizes without Prisma and shares tags with the prefix (on the store under test)', async () => {
    const { cached } = await import('../src/index.ts')
    let runs = 0
    const f = cached(async (x: number) => x * 2 + 0 * ++runs, { ...storeConfig(), prefix: t.prefix, timeout: 30, tags: ['standalone'] })
    expect(await f(21)).toBe(42)
    expect(await f(21)).toBe(42)
    expect(runs).toBe(1)
    await t.prisma.$cacheops.invalidateTags('standalone')
    await f(21)
    expect(runs).toBe(2)
    expect(() => cached(async () => 1, { ...storeConfig(), timeout: 0 })).toThrow(/timeout/)
  })

  itRedis('takes an ioredis client or a URL', async () => {
    const { cached } = await import('../src/index.ts')
    const redis = rawRedis()
    try {
      let runs = 0
      const f = cached(async () => ++runs, { redis, prefix: t.prefix, timeout: 30, key: 'by-client' })
      expect(await f()).toBe(await f())
      const byUrl = cached(async () => ++runs, { redis: REDIS_URL, prefix: t.prefix, timeout: 30, key: 'by-url' })
      const first = await byUrl()
      expect(await byUrl()).toBe(first)
      expect(runs).toBe(2)
    } finally {
      redis.disconnect()
    }
  })

  it('needs exactly one of redis and store', async () => {
    const { cached, memoryStore } = await import('../src/index.ts')
    const both = { redis: REDIS_URL, store: memoryStore(), timeout: 30 } as unknown as Parameters<typeof cached>[1]
    expect(() => cached(async () => 1, both)).toThrow(/exactly one of `redis`/)
    expect(() => cached(async () => 1, { timeout: 30 } as unknown as Parameters<typeof cached>[1])).toThrow(/exactly one of `redis`/)
  })
})

describe('cachedAs types', () => {
  it('checks where against the model and arguments against the function (tsc)', async () => {
    const f = t.prisma.$cacheops.cachedAs([{ model: 'Post', where: { categoryId: cat3 } }, { model: 'User', obj: { id: uid } }], async (n: number) => [n], { timeout: 5 })
    const r: number[] = await f(2)
    expect(r).toEqual([2])
    // @ts-expect-error a field Post does not have
    t.prisma.$cacheops.cachedAs([{ model: 'Post', where: { categry: 3 } }], () => 1, { timeout: 5 })
    // @ts-expect-error a value of the wrong type for the field
    t.prisma.$cacheops.cachedAs([{ model: 'Post', where: { categoryId: 'three' } }], () => 1, { timeout: 5 })
    // @ts-expect-error a model that does not exist
    expect(() => t.prisma.$cacheops.cachedAs(['Nope'], () => 1, { timeout: 5 })).toThrow(/unknown model/)
    // @ts-expect-error the wrapper takes the function's parameters
    await f('2').catch(() => undefined)
  })
})

describe('memoized functions and observability', () => {
  it('report hits, misses and stores as events and stats of the (function) model; keepFresh is always on', async () => {
    const seen: string[] = []
    const stop = t.prisma.$cacheops.on('hit', (e) => seen.push(`hit ${e.model} ${e.operation}`))
    const f = t.prisma.$cacheops.cached(async function priceOf(n: number) { return n }, { timeout: 30, keepFresh: true })
    await f(1)
    await f(1)
    stop()
    expect(seen).toEqual(['hit (function) priceOf'])
    expect(t.prisma.$cacheops.stats().byModel['(function)']).toMatchObject({ hits: expect.any(Number), misses: expect.any(Number) })
    expect(() => t.prisma.$cacheops.cached(async () => 1, { timeout: 30, keepFresh: false as never })).toThrow(/keepFresh/)
  })
})

describe('extra as a function of the arguments', () => {
  it('adds its value to the key', async () => {
    let locale = 'en'
    let runs = 0
    const f = t.prisma.$cacheops.cachedAs(['Tag'], async (id: number) => `${id}:${++runs}`, { timeout: 30, extra: (id: number) => `${locale}/${id % 2}` })
    const en = await f(1)
    expect(await f(1)).toBe(en)
    locale = 'fr'
    expect(await f(1)).not.toBe(en)
    expect(f.key(1)).not.toBe((locale = 'en', f.key(1)))
  })
})
