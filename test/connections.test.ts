// Redis connections the user brings: an ioredis instance is used as configured, so every
// setting that changes how commands are sent must either work or be refused up front.
import { PrismaPg } from '@prisma/adapter-pg'
import { Cluster, Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PrismaClient } from '../prisma/generated/client/client.ts'
import { cacheops, cached, CacheopsConfigError } from '../src/index.ts'
import { COMMAND_DEADLINE_MS } from '../src/redis/store.ts'
import { datamodel, deleteKeys, freshDatabase, newPrefix, rawRedis, REDIS_URL, startThrowawayRedis } from './helpers.ts'

let dbUrl: string
beforeAll(async () => {
  dbUrl = await freshDatabase('connections')
})

const settle = () => new Promise((r) => setTimeout(r, 30)) // stores are sent in the background

describe('an ioredis instance with enableAutoPipelining', () => {
  const redis = new Redis(REDIS_URL, { enableAutoPipelining: true })
  const inspect = rawRedis()
  const prefix = newPrefix()
  const logging = (url: string) => new PrismaClient({ adapter: new PrismaPg({ connectionString: url }), log: [{ emit: 'event', level: 'query' }] })
  let base: ReturnType<typeof logging>
  let sql = 0
  let prisma: ReturnType<typeof extend>
  const errors: Error[] = []
  const extend = (b: ReturnType<typeof logging>) => b.$extends(cacheops({ redis, datamodel, prefix, models: { '*': { ops: 'all', timeout: 60 } }, onError: (e) => errors.push(e) }))
  beforeAll(() => {
    base = logging(dbUrl)
    base.$on('query', () => void sql++)
    prisma = extend(base)
  })
  afterAll(async () => {
    await prisma.$cacheops.close()
    await deleteKeys(inspect, prefix)
    // Ours to close: cacheops never closes an instance it was given.
    expect(redis.status).toBe('ready')
    redis.disconnect()
    inspect.disconnect()
    await base.$disconnect()
  })
  const fromCache = async <T>(read: () => Promise<T>): Promise<{ value: T; cached: boolean }> => {
    const before = sql
    const value = await read()
    return { value, cached: sql === before }
  }

  it('caches reads, small and large, and invalidates them on writes', async () => {
    const author = await prisma.user.create({ data: { email: 'pipelined@x.io' } })
    // 40 posts: a payload over 1 kB, fetched by a GET sent behind the script (same pipeline).
    await prisma.post.createMany({ data: Array.from({ length: 40 }, (_, i) => ({ title: `post number ${i} of the pipelined author`, authorId: author.id })) })
    const one = () => prisma.user.findUnique({ where: { id: author.id } })
    const list = () => prisma.post.findMany({ where: { authorId: author.id }, orderBy: { id: 'asc' } })
    expect((await fromCache(one)).cached).toBe(false)
    expect((await fromCache(list)).cached).toBe(false)
    await settle()
    expect(await fromCache(one)).toEqual({ value: expect.objectContaining({ email: 'pipelined@x.io' }), cached: true })
    const hit = await fromCache(list)
    expect(hit.cached).toBe(true)
    expect(hit.value).toHaveLength(40)
    expect(await inspect.exists(...(await inspect.keys(`${prefix}r:*#p`)))).toBeGreaterThan(0)

    await prisma.user.update({ where: { id: author.id }, data: { name: 'renamed' } })
    await prisma.post.update({ where: { id: hit.value[0]!.id }, data: { title: 'changed' } })
    expect(await fromCache(one)).toEqual({ value: expect.objectContaining({ name: 'renamed' }), cached: false })
    expect(await fromCache(list)).toEqual({ value: expect.arrayContaining([expect.objectContaining({ title: 'changed' })]), cached: false })
    expect(errors).toEqual([])
  })

  it('serves concurrent hits from one pipeline', async () => {
    const author = await prisma.user.create({ data: { email: 'pipelined-many@x.io' } })
    const read = () => prisma.user.findUnique({ where: { id: author.id } })
    await read()
    await settle()
    const before = sql
    const rows = await Promise.all(Array.from({ length: 50 }, read))
    expect(sql).toBe(before)
    expect(rows.every((r) => r?.email === 'pipelined-many@x.io')).toBe(true)
    expect(errors).toEqual([])
  })
})

describe('connections refused at cacheops() time', () => {
  const refused = (redis: unknown): CacheopsConfigError => {
    try {
      cacheops({ redis: redis as never, datamodel })
    } catch (err) {
      expect(err).toBeInstanceOf(CacheopsConfigError)
      return err as CacheopsConfigError
    }
    throw new Error('expected a CacheopsConfigError')
  }

  it('an ioredis keyPrefix, in options or on an instance (Lua builds keys it cannot prefix)', () => {
    const fromOptions = refused({ host: '127.0.0.1', keyPrefix: 'app:' })
    expect(fromOptions.issues[0]?.path).toBe('redis.keyPrefix')
    expect(fromOptions.message).toMatch(/use the `prefix` option/)
    const instance = new Redis(REDIS_URL, { keyPrefix: 'app:', lazyConnect: true })
    expect(refused(instance).issues[0]?.path).toBe('redis.keyPrefix')
    expect(() => cached(async () => 1, { redis: instance, timeout: 5 })).toThrow(/keyPrefix/)
    instance.disconnect()
  })

  it('a Redis Cluster (scripts touch keys of many slots)', () => {
    const cluster = new Cluster([{ host: '127.0.0.1', port: 1 }], { lazyConnect: true })
    const err = refused(cluster)
    expect(err.issues[0]?.path).toBe('redis')
    expect(err.message).toMatch(/Cluster is not supported/)
    expect(() => cached(async () => 1, { redis: cluster as never, timeout: 5 })).toThrow(/Cluster is not supported/)
    cluster.disconnect()
  })
})

// Neither connection has an ioredis commandTimeout (ours does not set one: CacheStore's
// deadlines bound every command instead).
describe.each([
  ['an ioredis instance with default options', (url: string) => new Redis(url)],
  ['a connection prisma-cacheops opens from a URL', (url: string) => url],
] as const)('%s: a hung Redis', (_, connect) => {
  it('delays writes and reads by a bounded time, never forever', async () => {
    const server = await startThrowawayRedis(25_000 + Math.floor(Math.random() * 2000))
    const redis = connect(server.url) // commands would wait as long as the connection stays open
    if (typeof redis !== 'string') redis.on('error', () => {})
    const base = new PrismaClient({ adapter: new PrismaPg({ connectionString: dbUrl }) })
    const errors: Error[] = []
    const prisma = base.$extends(cacheops({ redis, datamodel, prefix: newPrefix(), models: { '*': { ops: 'all', timeout: 60 } }, onError: (e) => errors.push(e) }))
    try {
      const author = await prisma.user.create({ data: { email: `hung-${Date.now()}-${Math.random()}@x.io` } })
      await prisma.user.findUnique({ where: { id: author.id } })
      server.process.kill('SIGSTOP') // the connection stays open, nothing answers
      const started = Date.now()
      const updated = await prisma.user.update({ where: { id: author.id }, data: { name: 'written while hung' } })
      expect(updated.name).toBe('written while hung')
      expect(await prisma.user.findUnique({ where: { id: author.id } })).toEqual(expect.objectContaining({ name: 'written while hung' }))
      // Each call waited at most the deadline (2 s) for Redis, then went on without it.
      expect(Date.now() - started).toBeLessThan(4 * COMMAND_DEADLINE_MS)
      expect(errors.some((e) => /did not answer within/.test(e.message))).toBe(true)
    } finally {
      server.process.kill('SIGCONT')
      await prisma.$cacheops.close()
      if (typeof redis !== 'string') redis.disconnect()
      await base.$disconnect()
      await server.kill()
    }
  }, 30_000)
})
