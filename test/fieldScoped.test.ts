// Counts and aggregates depend only on the fields they read: an update that changes none
// of them, and creates or deletes no row, leaves them cached (fieldsReadBy,
// fieldScopedScheme, invalidate_rows.lua). Against the real PostgreSQL and Redis.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { freshDatabase, servedFromCache, testClient, type TestClient } from './helpers.ts'

let t: TestClient
let a: number
let b: number

const cached = (read: () => Promise<unknown>) => servedFromCache(t, read)

beforeAll(async () => {
  t = testClient(await freshDatabase('field_scoped'))
  a = (await t.base.user.create({ data: { email: 'a@f.io' } })).id
  b = (await t.base.user.create({ data: { email: 'b@f.io' } })).id
})
beforeEach(async () => {
  await t.prisma.$cacheops.invalidateAll()
  await t.base.post.deleteMany()
})
afterAll(async () => {
  await t.prisma.$cacheops.invalidateAll()
  await t.close()
})

describe('counts, aggregates and groupBy spare writes of fields they do not read', () => {
  it('an update of views keeps count(authorId, published), drops what reads views', async () => {
    const post = await t.base.post.create({ data: { title: 'p', authorId: a, published: true, views: 1 } })
    const published = () => t.prisma.post.count({ where: { authorId: a, published: true } })
    const popular = () => t.prisma.post.count({ where: { authorId: a, views: { gt: 5 } } })
    const sum = () => t.prisma.post.aggregate({ where: { authorId: a }, _sum: { views: true } })
    const list = () => t.prisma.post.findMany({ where: { authorId: a } })
    expect(await published()).toBe(1)
    expect(await popular()).toBe(0)
    expect((await sum())._sum.views).toBe(1)
    await list()

    await t.prisma.post.update({ where: { id: post.id }, data: { views: 10 } })
    expect(await cached(published)).toBe(true)
    expect(await published()).toBe(1)
    expect(await cached(popular)).toBe(false)
    expect(await popular()).toBe(1)
    expect((await sum())._sum.views).toBe(10)
    expect((await list())[0]!.views).toBe(10)
  })

  it('an update of a field the count filters on drops it, at the old and the new value', async () => {
    const post = await t.base.post.create({ data: { title: 'p', authorId: a, published: true } })
    const countOf = (authorId: number, published: boolean) => () => t.prisma.post.count({ where: { authorId, published } })
    for (const read of [countOf(a, true), countOf(a, false), countOf(b, true)]) await read()
    await t.prisma.post.update({ where: { id: post.id }, data: { published: false } })
    expect(await countOf(a, true)()).toBe(0)
    expect(await countOf(a, false)()).toBe(1)
    expect(await cached(countOf(b, true))).toBe(true) // another author's: the row never was there
    await t.prisma.post.update({ where: { id: post.id }, data: { authorId: b, published: true } })
    expect(await countOf(a, false)()).toBe(0)
    expect(await countOf(b, true)()).toBe(1)
  })

  it('creates and deletes drop every count, even one that reads no field', async () => {
    const all = () => t.prisma.post.count()
    const titled = () => t.prisma.post.count({ where: { title: 'x' } })
    expect(await all()).toBe(0)
    expect(await titled()).toBe(0)
    const post = await t.prisma.post.create({ data: { title: 'x', authorId: a } })
    expect(await all()).toBe(1)
    expect(await titled()).toBe(1)
    await t.prisma.post.update({ where: { id: post.id }, data: { views: 3, published: true } })
    expect(await cached(all)).toBe(true)
    expect(await cached(titled)).toBe(true)
    await t.prisma.post.update({ where: { id: post.id }, data: { title: 'y' } })
    expect(await cached(all)).toBe(true)
    expect(await titled()).toBe(0)
    await t.prisma.post.delete({ where: { id: post.id } })
    expect(await all()).toBe(0)
  })

  it('groupBy: its by, where and aggregated fields', async () => {
    const post = await t.base.post.create({ data: { title: 'p', authorId: a, published: true, views: 1 } })
    await t.base.post.create({ data: { title: 'q', authorId: b, published: true, views: 2 } })
    const byAuthor = () => t.prisma.post.groupBy({ by: ['authorId'], where: { published: true }, _count: { _all: true }, orderBy: { authorId: 'asc' } })
    const viewsByAuthor = () => t.prisma.post.groupBy({ by: ['authorId'], _sum: { views: true }, orderBy: { authorId: 'asc' } })
    expect((await byAuthor()).map((g) => g._count._all)).toEqual([1, 1])
    expect((await viewsByAuthor()).map((g) => g._sum.views)).toEqual([1, 2])
    await t.prisma.post.update({ where: { id: post.id }, data: { views: 7, title: 'p2' } })
    expect(await cached(byAuthor)).toBe(true)
    expect((await viewsByAuthor()).map((g) => g._sum.views)).toEqual([7, 2])
    await t.prisma.post.update({ where: { id: post.id }, data: { authorId: b } })
    expect((await byAuthor()).map((g) => [g.authorId, g._count._all])).toEqual([[b, 2]])
  })

  it('@updatedAt fields change on every update, whatever the data', async () => {
    const setting = await t.base.setting.create({ data: { key: 'k', value: 'v' } })
    const since = new Date(setting.updatedAt.getTime() + 1)
    const touchedSince = () => t.prisma.setting.count({ where: { updatedAt: { gte: since } } })
    expect(await touchedSince()).toBe(0)
    await new Promise((r) => setTimeout(r, 5))
    await t.prisma.setting.update({ where: { id: setting.id }, data: { value: 'w' } })
    expect(await touchedSince()).toBe(1)
    await t.base.setting.delete({ where: { id: setting.id } })
  })

  it('updates inside a transaction, after its commit: the same', async () => {
    const post = await t.base.post.create({ data: { title: 'p', authorId: a, published: true } })
    const published = () => t.prisma.post.count({ where: { authorId: a, published: true } })
    await published()
    await t.prisma.$transaction(async (tx) => {
      await tx.post.update({ where: { id: post.id }, data: { views: 5 } })
    })
    expect(await cached(published)).toBe(true)
    await t.prisma.$transaction(async (tx) => {
      await tx.post.update({ where: { id: post.id }, data: { published: false } })
    })
    expect(await published()).toBe(0)
  })

  it('updateMany (whose data lands on rows it did not read) and nested writes drop them all', async () => {
    const post = await t.base.post.create({ data: { title: 'p', authorId: a, published: true } })
    const published = () => t.prisma.post.count({ where: { authorId: a, published: true } })
    await published()
    await t.prisma.post.updateMany({ where: { authorId: a }, data: { views: 2 } })
    expect(await cached(published)).toBe(false)
    await t.prisma.user.update({ where: { id: a }, data: { posts: { update: { where: { id: post.id }, data: { published: false } } } } })
    expect(await published()).toBe(0)
  })
})
