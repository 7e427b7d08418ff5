// The fast path (src/prisma/fastPath.ts): hits answered at the model delegate, before
// Prisma's per-call pipeline, indistinguishable from the query hook's hits.
import { PrismaPg } from '@prisma/adapter-pg'
import { PrismaClientKnownRequestError } from '@prisma/client/runtime/client'
import fc from 'fast-check'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { PrismaClient } from '../prisma/generated/client/client.ts'
import { cacheops } from '../src/index.ts'
import { pipelineAddsNothing } from '../src/prisma/fastPath.ts'
import { countSql, datamodel, freshDatabase, newPrefix, REDIS_URL, testClient, type TestClient } from './helpers.ts'
import { describeRedis } from './stores.ts'

let url: string
let t: TestClient
let author: number
let postId: number

const fastHits = () => t.prisma.$cacheops.stats().fastHits
/** Runs `read` twice more after a first call: how many of those were fast hits, and SQL run. */
async function warm<T>(read: () => PromiseLike<T>): Promise<{ fast: number; sql: number; value: T }> {
  await read()
  await read() // the first hit learns the entry's header, if the store had not yet
  const before = fastHits()
  const { value, sql } = await countSql(t, () => Promise.resolve(read()))
  return { fast: fastHits() - before, sql, value }
}

beforeAll(async () => {
  url = await freshDatabase('fast_path')
  t = testClient(url)
  author = (await t.base.user.create({ data: { email: 'fast@x.io', name: 'F' } })).id
  postId = (await t.base.post.create({ data: { title: 'fast', authorId: author, views: 3 } })).id
})
beforeEach(async () => {
  await t.prisma.$cacheops.invalidateAll()
})
afterAll(async () => {
  await t.prisma.$cacheops.invalidateAll()
  await t.close()
})

describe('hits skip the pipeline', () => {
  it('every read operation: answered fast, the same value as the database', async () => {
    const reads: [string, () => PromiseLike<unknown>, () => PromiseLike<unknown>][] = [
      ['findUnique', () => t.prisma.post.findUnique({ where: { id: postId } }), () => t.base.post.findUnique({ where: { id: postId } })],
      ['findFirst', () => t.prisma.post.findFirst({ where: { authorId: author } }), () => t.base.post.findFirst({ where: { authorId: author } })],
      ['findMany + include', () => t.prisma.user.findMany({ where: { id: author }, include: { posts: true } }), () => t.base.user.findMany({ where: { id: author }, include: { posts: true } })],
      ['count', () => t.prisma.post.count({ where: { authorId: author } }), () => t.base.post.count({ where: { authorId: author } })],
      ['aggregate', () => t.prisma.post.aggregate({ _sum: { views: true } }), () => t.base.post.aggregate({ _sum: { views: true } })],
      ['groupBy', () => t.prisma.post.groupBy({ by: ['authorId'], _count: true, orderBy: { authorId: 'asc' } }), () => t.base.post.groupBy({ by: ['authorId'], _count: true, orderBy: { authorId: 'asc' } })],
    ]
    for (const [name, cached, plain] of reads) {
      const r = await warm(cached)
      expect({ name, fast: r.fast, sql: r.sql }).toEqual({ name, fast: 1, sql: 0 })
      expect(r.value).toEqual(await plain())
    }
  })

  it('a write invalidates: the next read is no fast hit and sees the write', async () => {
    const read = () => t.prisma.post.findUnique({ where: { id: postId }, select: { views: true } })
    expect((await warm(read)).fast).toBe(1)
    await t.prisma.post.update({ where: { id: postId }, data: { views: { increment: 1 } } })
    const before = fastHits()
    const now = await read()
    expect(fastHits()).toBe(before)
    expect(now).toEqual(await t.base.post.findUnique({ where: { id: postId }, select: { views: true } }))
  })

  it('an OrThrow read of a cached null throws Prisma’s P2025 on a fast hit', async () => {
    const read = () => t.prisma.post.findUniqueOrThrow({ where: { id: -5 } })
    await expect(read()).rejects.toMatchObject({ code: 'P2025' })
    await expect(read()).rejects.toMatchObject({ code: 'P2025' })
    const before = fastHits()
    const err = await read().then(() => undefined, (e: unknown) => e)
    expect(fastHits()).toBe(before + 1)
    expect(err).toBeInstanceOf(PrismaClientKnownRequestError)
    expect(err).toMatchObject({ code: 'P2025' })
  })

  it('each caller gets its own copy: mutating a fast hit touches neither the cache nor other callers', async () => {
    const read = () => t.prisma.user.findUnique({ where: { id: author }, include: { posts: true } })
    const a = (await warm(read)).value!
    const b = (await read())!
    a.name = 'mutated'
    a.posts.length = 0
    b.posts[0]!.title = 'also mutated'
    const c = (await read())!
    expect(c.name).toBe('F')
    expect(c.posts.map((p) => p.title)).toEqual(['fast'])
  })
})

describeRedis('an entry that cannot be decoded', () => {
  it('is no fast hit: the read answers from the database and the failure is reported, with or without the near cache', async () => {
    for (const nearCache of [false, true]) {
      const errors: string[] = []
      const c = testClient(url, { nearCache, onError: (e) => errors.push(e.message) })
      try {
        const read = () => c.prisma.post.findUnique({ where: { id: postId } })
        await read()
        await read() // the header is known: the next read takes the fast path
        // Keep every entry's header, cut its payload in half (an undecodable message).
        const redis = new Redis(REDIS_URL)
        for (const key of await redis.keys(`${c.prefix}r:*`)) {
          if (key.endsWith('#p')) continue
          const value = (await redis.getBuffer(key))!
          const headerEnd = value.indexOf(10) + 1 + Number(String(value.subarray(0, value.indexOf(32))))
          const payload = value.subarray(headerEnd)
          expect(payload.length).toBeGreaterThan(4)
          await redis.set(key, Buffer.concat([value.subarray(0, headerEnd), payload.subarray(0, payload.length >> 1)]), 'KEEPTTL')
        }
        redis.disconnect()
        expect(await read()).toEqual(await c.base.post.findUnique({ where: { id: postId } }))
        expect(errors.some((m) => m.includes('could not be decoded'))).toBe(true)
      } finally {
        await c.prisma.$cacheops.invalidateAll()
        await c.close()
      }
    }
  })
})

describe('the fast path agrees with the query hook (its specification)', () => {
  it('property: random reads answered by a fast hit equal the pipeline’s hit of the same entry', async () => {
    // A second client on the same cache (same prefix) with the fast path off: the hook's answer.
    const slow = testClient(url, { prefix: t.prefix, fastPath: false })
    try {
      const where = fc.oneof(
        fc.constant({}),
        fc.record({ authorId: fc.constantFrom(author, -1) }),
        fc.record({ views: fc.record({ gte: fc.integer({ min: 0, max: 5 }) }) }),
        fc.record({ title: fc.constantFrom('fast', 'none'), published: fc.boolean() }),
      )
      const read = fc.oneof(
        fc.record({ op: fc.constant('findMany' as const), where, take: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }), include: fc.boolean() }),
        fc.record({ op: fc.constant('count' as const), where }),
        fc.record({ op: fc.constant('findFirst' as const), where, include: fc.boolean() }),
        fc.record({ op: fc.constant('aggregate' as const), where }),
      )
      const run = (p: TestClient['prisma'], r: { op: string; where: object; take?: number; include?: boolean }) => {
        switch (r.op) {
          case 'findMany': return p.post.findMany({ where: r.where, orderBy: { id: 'asc' }, ...(r.take ? { take: r.take } : {}), ...(r.include ? { include: { author: true } } : {}) })
          case 'findFirst': return p.post.findFirst({ where: r.where, orderBy: { id: 'asc' }, ...(r.include ? { include: { author: true } } : {}) })
          case 'count': return p.post.count({ where: r.where })
          default: return p.post.aggregate({ where: r.where, _sum: { views: true }, _max: { id: true } })
        }
      }
      await fc.assert(
        fc.asyncProperty(read, async (r) => {
          await run(slow.prisma, r) // stored, or a hit
          const expected = await run(slow.prisma, r) // the hook's hit
          // This process learns the entry's header: from its own hit, and for an entry whose
          // dependencies came from its result (an include), from the first check that saw it.
          let fast = false
          for (let i = 0; i < 4 && !fast; i++) {
            const before = fastHits()
            const got = await run(t.prisma, r)
            fast = fastHits() === before + 1
            expect(got).toEqual(expected)
          }
          expect(fast).toBe(true)
        }),
        { numRuns: 40 },
      )
    } finally {
      await slow.close()
    }
  })
})

describe('a PrismaPromise as before', () => {
  it('lazy: nothing runs (no lookup, no query) until it is awaited', async () => {
    const read = () => t.prisma.post.findMany({ where: { authorId: author } })
    await warm(read)
    const sqlBefore = t.sql.length
    const hitsBefore = t.prisma.$cacheops.stats().hits
    const p = read()
    await new Promise((r) => setTimeout(r, 20))
    expect(t.prisma.$cacheops.stats().hits).toBe(hitsBefore)
    expect(t.sql.length).toBe(sqlBefore)
    expect(Object.prototype.toString.call(p)).toBe('[object PrismaPromise]')
    await p
    expect(t.prisma.$cacheops.stats().hits).toBe(hitsBefore + 1)
  })

  it('then / catch / finally', async () => {
    const read = () => t.prisma.post.count({ where: { authorId: author } })
    await warm(read)
    let finished = false
    const n = await read()
      .then((x) => x + 1)
      .finally(() => (finished = true))
    expect(n).toBe(2)
    expect(finished).toBe(true)
    const caught = await t.prisma.post.findUniqueOrThrow({ where: { id: -9 } }).catch((e: { code?: string }) => e.code)
    expect(caught).toBe('P2025')
  })

  it('accepted by $transaction([...]): the items go to the database, as before', async () => {
    const read = () => t.prisma.post.findUnique({ where: { id: postId } })
    await warm(read)
    const { value, sql } = await countSql(t, () => t.prisma.$transaction([read(), t.prisma.post.count()]))
    expect(value[0]?.id).toBe(postId)
    expect(value[1]).toBeGreaterThan(0)
    expect(sql).toBeGreaterThanOrEqual(2)
  })

  it('fluent calls (post.author(), user.posts()) and .cache() / .nocache() chains', async () => {
    await warm(() => t.prisma.post.findUnique({ where: { id: postId } }))
    expect((await t.prisma.post.findUnique({ where: { id: postId } }).author())?.id).toBe(author)
    expect((await t.prisma.user.findUnique({ where: { id: author } }).posts())?.map((p) => p.id)).toEqual([postId])
    expect((await t.prisma.post.cache({ timeout: 10 }).findUnique({ where: { id: postId } }))?.id).toBe(postId)
    const { sql } = await countSql(t, () => t.prisma.post.nocache().findUnique({ where: { id: postId } }))
    expect(sql).toBe(1)
  })
})

describe('equivalence guard: the pipeline runs whenever it would add something', () => {
  const base = () => new PrismaClient({ adapter: new PrismaPg({ connectionString: url }) })
  const config = () => ({ redis: REDIS_URL, datamodel, prefix: newPrefix(), models: { '*': { ops: 'all' as const, timeout: 300 } } })

  it('a query extension registered before cacheops (a tenant filter) still filters, hits included', async () => {
    const other = await t.base.user.create({ data: { email: 'tenant-b@x.io' } })
    await t.base.post.create({ data: { title: 'tenant b', authorId: other.id } })
    let tenant = author
    const b = base()
    const prisma = b
      .$extends({ query: { post: { async findMany({ args, query }) { return query({ ...args, where: { ...args.where, authorId: tenant } }) } } } })
      .$extends(cacheops(config()))
    // The filter's args under tenant `author` are the caller's own: the entry stored for
    // them must not answer the same call under another tenant.
    const read = () => prisma.post.findMany({ where: { authorId: author }, orderBy: { id: 'asc' } })
    for (let i = 0; i < 3; i++) expect((await read()).map((p) => p.title)).toEqual(['fast'])
    tenant = other.id
    expect((await read()).map((p) => p.title)).toEqual(['tenant b'])
    expect((await read()).map((p) => p.title)).toEqual(['tenant b'])
    expect(prisma.$cacheops.stats().fastHits).toBe(0)
    expect(prisma.$cacheops.stats().hits).toBeGreaterThan(0) // hits through the pipeline
    // Other models and operations stay fast.
    const count = () => prisma.user.count()
    for (let i = 0; i < 3; i++) await count()
    expect(prisma.$cacheops.stats().fastHits).toBeGreaterThan(0)
    await prisma.$cacheops.close()
    await b.$disconnect()
  })

  it('a computed field (result extension) is on every hit', async () => {
    const b = base()
    const prisma = b.$extends(cacheops(config())).$extends({ result: { post: { shout: { needs: { title: true }, compute: (p) => p.title.toUpperCase() } } } })
    const read = () => prisma.post.findUnique({ where: { id: postId } })
    for (let i = 0; i < 3; i++) expect((await read())?.shout).toBe('FAST')
    expect(prisma.$cacheops.stats().fastHits).toBe(0)
    await prisma.$cacheops.close()
    await b.$disconnect()
  })

  it('a model method overridden after cacheops runs the override', async () => {
    const b = base()
    const cached = b.$extends(cacheops(config()))
    const prisma = cached.$extends({ model: { post: { async findFirst() { return { overridden: true } } } } })
    for (let i = 0; i < 3; i++) expect((await cached.post.findFirst())?.id).toBe(postId) // an entry both share
    expect(cached.$cacheops.stats().fastHits).toBeGreaterThan(0)
    expect(await prisma.post.findFirst()).toEqual({ overridden: true })
    await cached.$cacheops.close()
    await b.$disconnect()
  })

  it('query extensions registered after cacheops run inside it (as before); hits stay fast', async () => {
    const b = base()
    let calls = 0
    const prisma = b.$extends(cacheops(config())).$extends({ query: { post: { async findMany({ args, query }) { calls++; return query(args) } } } })
    const read = () => prisma.post.findMany({ where: { authorId: author } })
    for (let i = 0; i < 4; i++) await read()
    expect(calls).toBe(1) // the miss only
    expect(prisma.$cacheops.stats().fastHits).toBeGreaterThan(0)
    await prisma.$cacheops.close()
    await b.$disconnect()
  })

  it('fastPath: false sends every read through the pipeline', async () => {
    const b = base()
    const prisma = b.$extends(cacheops({ ...config(), fastPath: false }))
    for (let i = 0; i < 4; i++) await prisma.post.findUnique({ where: { id: postId } })
    expect(prisma.$cacheops.stats()).toMatchObject({ fastHits: 0, hits: 3 })
    await prisma.$cacheops.close()
    await b.$disconnect()
  })

  it('pipelineAddsNothing reads the extension chain: before/after cacheops, per model and operation', () => {
    const b = base()
    const before = b.$extends({ query: { user: { findMany: ({ args, query }) => query(args) } } }).$extends(cacheops(config()))
    expect(pipelineAddsNothing(before, 'User', 'findMany')).toBe(false)
    expect(pipelineAddsNothing(before, 'User', 'count')).toBe(true)
    expect(pipelineAddsNothing(before, 'Post', 'findMany')).toBe(true)
    const all = b.$extends({ query: { $allModels: { $allOperations: ({ args, query }) => query(args) } } }).$extends(cacheops(config()))
    expect(pipelineAddsNothing(all, 'Post', 'count')).toBe(false)
    expect(pipelineAddsNothing(b, 'Post', 'count')).toBe(false) // no cacheops at all
    void before.$cacheops.close()
    void all.$cacheops.close()
  })
})

describe('types are the client’s own', () => {
  it('select narrows, fluent calls and .cache() chains type-check', async () => {
    const r = await t.prisma.post.findUnique({ where: { id: postId }, select: { title: true } })
    // @ts-expect-error views was not selected
    void r?.views
    expect(r?.title).toBe('fast')
    const a = await t.prisma.post.findUnique({ where: { id: postId } }).author()
    // @ts-expect-error a user has no title
    void a?.title
    const n: number = await t.prisma.post.cache({ timeout: 5 }).count()
    expect(a?.email).toBe('fast@x.io')
    expect(n).toBeGreaterThan(0)
  })
})
