// Odd inputs give a correct entry or a clean skip, never a wrong hit or an error from the cache.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { countSql, freshDatabase, testClient, type TestClient } from './helpers.ts'
import type { CacheopsEvent } from '../src/index.ts'

let t: TestClient
let uid: number

beforeAll(async () => {
  t = testClient(await freshDatabase('bad_input'))
  uid = (await t.base.user.create({ data: { email: 'bad@b.io' } })).id
})
afterAll(async () => {
  await t.prisma.$cacheops.invalidateAll()
  await t.close()
})

describe('bad input', () => {
  it('an in list of 10,000 values: cached, and invalidated (model-wide) by a matching write', async () => {
    const ids = Array.from({ length: 10_000 }, (_, i) => i + 1_000_000)
    const read = () => t.prisma.post.findMany({ where: { id: { in: ids } } })
    expect(await read()).toEqual([])
    expect((await countSql(t, read)).sql).toBe(0)
    await t.prisma.post.create({ data: { id: 1_000_123, title: 'in the list', authorId: uid } })
    expect((await read()).map((p) => p.id)).toEqual([1_000_123])
  })

  it('a deeply nested where tree (as deep as Prisma accepts)', async () => {
    let where: Record<string, unknown> = { title: 'deep' }
    for (let i = 0; i < 30; i++) where = i % 2 ? { AND: [where, { authorId: uid }] } : { OR: [where, { id: -i }] }
    const read = () => t.prisma.post.findMany({ where })
    expect(await read()).toEqual([])
    await t.prisma.post.create({ data: { title: 'deep', authorId: uid } })
    expect((await read()).map((p) => p.title)).toEqual(['deep'])
  })

  it('strings with key separators, unicode and NUL never share an entry or miss an invalidation', async () => {
    const titles = ['a:b', 'a&b=c', '{x}', 'a"b', 'é😀', 'a\\nb', 'a\u0000b'.replace('\u0000', '\\0'), 'a=1&b=2', 'x'.repeat(300)]
    const reads = titles.map((title) => () => t.prisma.post.findMany({ where: { title, authorId: uid } }))
    for (const r of reads) expect(await r()).toEqual([])
    for (const [i, title] of titles.entries()) {
      await t.prisma.post.create({ data: { title, authorId: uid } })
      for (const [j, r] of reads.entries()) expect((await r()).length, `after creating ${JSON.stringify(title)}, read ${j}`).toBe(j <= i ? 1 : 0)
    }
  })

  it('results that cannot round-trip are returned to the caller but never stored', async () => {
    const skips: CacheopsEvent[] = []
    const stop = t.prisma.$cacheops.on('skip', (e) => skips.push(e))
    const cycle: Record<string, unknown> = {}
    cycle.self = cycle
    const values: unknown[] = [{ f: () => 1 }, new Map([[1, 2]]), cycle, [Symbol('s')], { at: new (class Point {})() }]
    for (const [i, v] of values.entries()) {
      let runs = 0
      const fn = t.prisma.$cacheops.cached(() => (runs++, v), { timeout: 60, key: `unencodable-${i}` })
      expect(await fn()).toBe(v)
      await new Promise((r) => setTimeout(r, 20))
      expect(await fn()).toBe(v) // not a hit on a mangled copy: computed again
      expect(runs).toBe(2)
    }
    stop()
    expect(skips.filter((e) => e.type === 'skip' && e.reason === 'unencodable')).toHaveLength(values.length * 2)
  })

  it('results above maxResultBytes are not stored, and that is reported', async () => {
    const small = testClient(await freshDatabase('bad_input_small'), { maxResultBytes: 2_000 })
    try {
      const events: CacheopsEvent[] = []
      small.prisma.$cacheops.on('skip', (e) => events.push(e))
      const author = await small.base.user.create({ data: { email: 'big@b.io' } })
      await small.base.post.createMany({ data: Array.from({ length: 40 }, (_, i) => ({ title: `big ${i} ${'x'.repeat(40)}`, authorId: author.id })) })
      const big = () => small.prisma.post.findMany({ where: { authorId: author.id } })
      const tiny = () => small.prisma.post.findFirst({ where: { authorId: author.id }, select: { id: true } })
      expect((await big()).length).toBe(40)
      await tiny()
      await new Promise((r) => setTimeout(r, 20))
      expect(await countSql(small, big)).toMatchObject({ sql: 1 }) // never stored
      expect(await countSql(small, tiny)).toMatchObject({ sql: 0 }) // small results still are
      const tooLarge = events.filter((e) => e.type === 'skip' && e.reason === 'too-large')
      expect(tooLarge.length).toBeGreaterThanOrEqual(2)
      expect(tooLarge[0]).toMatchObject({ model: 'Post' })
      expect((tooLarge[0] as { bytes: number }).bytes).toBeGreaterThan(2_000)
      expect(small.prisma.$cacheops.stats().byModel.Post?.tooLarge).toBeGreaterThanOrEqual(2)
      let runs = 0
      const fn = small.prisma.$cacheops.cached(() => (runs++, 'y'.repeat(5_000)), { timeout: 60, key: 'big-fn' })
      await fn()
      await new Promise((r) => setTimeout(r, 20))
      await fn()
      expect(runs).toBe(2)
    } finally {
      await small.close()
    }
  })
})
