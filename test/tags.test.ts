import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { CacheopsConfigError } from '../src/index.ts'
import { countSql, freshDatabase, pauseFirst, testClient, type TestClient } from './helpers.ts'

let t: TestClient
let uid: number
const cached = async (read: () => Promise<unknown>) => (await countSql(t, read)).sql === 0

beforeAll(async () => {
  t = testClient(await freshDatabase('tags'))
  uid = (await t.base.user.create({ data: { email: 'tags@t.io', posts: { create: { title: 'tagged' } } } })).id
})
beforeEach(async () => {
  await t.prisma.$cacheops.invalidateAll()
})
afterAll(async () => {
  await t.prisma.$cacheops.invalidateAll()
  await t.close()
})

describe('tags', () => {
  it('invalidate tagged entries across models, and nothing else', async () => {
    const posts = () => t.prisma.post.cache({ tags: ['home', `user:${uid}`] }).findMany({ where: { authorId: uid } })
    const user = () => t.prisma.user.cache({ tags: ['home'] }).findUnique({ where: { id: uid } })
    const untagged = () => t.prisma.post.findMany({ where: { authorId: uid } })
    const otherTag = () => t.prisma.user.cache({ tags: ['sidebar'] }).count()
    for (const r of [posts, user, untagged, otherTag]) await r()
    expect(await cached(posts)).toBe(true)
    await t.prisma.$cacheops.invalidateTags('home')
    expect(await cached(posts)).toBe(false)
    expect(await cached(user)).toBe(false)
    expect(await cached(untagged)).toBe(true) // same query without tags: its own entry
    expect(await cached(otherTag)).toBe(true)
    await t.prisma.$cacheops.invalidateTags(`user:${uid}`)
    expect(await cached(posts)).toBe(false)
  })

  it('tagged entries are still invalidated by writes', async () => {
    const posts = () => t.prisma.post.cache({ tags: ['home'] }).findMany({ where: { authorId: uid } })
    await posts()
    await t.prisma.post.create({ data: { title: 'tagged-2', authorId: uid } })
    expect((await posts()).map((p) => p.title)).toContain('tagged-2')
  })

  it('take part in transactions: after commit, not on rollback', async () => {
    const read = () => t.prisma.user.cache({ tags: ['tx'] }).findUnique({ where: { id: uid } })
    await read()
    await t.prisma
      .$transaction(async () => {
        await t.prisma.$cacheops.invalidateTags('tx')
        throw new Error('rollback')
      })
      .catch(() => undefined)
    expect(await cached(read)).toBe(true)
    await t.prisma.$transaction(async (tx) => {
      await tx.$cacheops.invalidateTags('tx')
      expect(await cached(read)).toBe(true) // not before the commit
    })
    expect(await cached(read)).toBe(false)
  })

  it('reject tags that are not non-empty single-line strings', () => {
    expect(() => t.prisma.post.cache({ tags: [''] })).toThrow(CacheopsConfigError)
    expect(() => t.prisma.post.cache({ tags: ['a\nb'] })).toThrow(/tags\.0/)
  })
})

describe('tags bound to models (config tags)', () => {
  it('a change of a row invalidates the tags of its old and new values', async () => {
    const c = testClient(await freshDatabase('tags_bound'), { tags: { Post: (row) => [`category:${String(row.categoryId)}`] } })
    try {
      const author = await c.base.user.create({ data: { email: 'bound@t.io' } })
      const [c3, c4] = [await c.base.category.create({ data: { title: 'c3' } }), await c.base.category.create({ data: { title: 'c4' } })]
      const cachedIn = async (read: () => Promise<unknown>) => (await countSql(c, read)).sql === 0
      // Pages of other models, tagged by the category they show.
      const page3 = () => c.prisma.category.cache({ tags: [`category:${c3.id}`] }).findUnique({ where: { id: c3.id } })
      const page4 = () => c.prisma.category.cache({ tags: [`category:${c4.id}`] }).findUnique({ where: { id: c4.id } })
      await page3()
      await page4()
      await c.prisma.post.create({ data: { title: 'in 4', authorId: author.id, categoryId: c4.id } })
      expect(await cachedIn(page3)).toBe(true)
      expect(await cachedIn(page4)).toBe(false)
      const p = await c.prisma.post.create({ data: { title: 'in 3', authorId: author.id, categoryId: c3.id } })
      expect(await cachedIn(page3)).toBe(false)
      expect(await cachedIn(page4)).toBe(true)
      await c.prisma.post.update({ where: { id: p.id }, data: { categoryId: c4.id } }) // old and new values
      expect(await cachedIn(page3)).toBe(false)
      expect(await cachedIn(page4)).toBe(false)
      // A write whose rows are not all known (increment in updateMany) drops every tagged entry.
      await c.prisma.post.updateMany({ where: { title: 'nothing' }, data: { views: { increment: 1 } } })
      expect(await cachedIn(page3)).toBe(false)
      const untagged = () => c.prisma.category.findUnique({ where: { id: c3.id } })
      await untagged()
      await c.prisma.post.updateMany({ where: { title: 'nothing' }, data: { views: { increment: 1 } } })
      expect(await cachedIn(untagged)).toBe(true) // untagged entries of other models are not touched
    } finally {
      await c.prisma.$cacheops.invalidateAll()
      await c.close()
    }
  })

  it("a deleteMany drops every tagged entry: a row that entered its where clause after its pre-read goes without an image", async () => {
    const c = testClient(await freshDatabase('tags_bound_mass'), { tags: { Post: (row) => [`category:${String(row.categoryId)}`] } })
    try {
      const cat = await c.base.category.create({ data: { title: 'bt-cat' } })
      const a = await c.base.user.create({ data: { email: 'bt-a@t.io' } })
      const x = await c.base.user.create({ data: { email: 'bt-x@t.io' } })
      await c.base.post.create({ data: { title: 'bt-victim', authorId: x.id } })
      const phantom = await c.base.post.create({ data: { title: 'bt-phantom', authorId: a.id, categoryId: cat.id } })
      // A function tagged by the category: it depends on no cached read of Post.
      const inCategory = c.prisma.$cacheops.cached(async () => await c.base.post.count({ where: { categoryId: cat.id } }), { timeout: 300, key: 'posts-in-category', tags: [`category:${cat.id}`] })
      await c.prisma.post.findMany({ where: { authorId: x.id } }) // a scheme: the deleteMany reads pre-images
      const writer = pauseFirst(c, 'post', 'deleteMany', 'before')
      const del = writer.client.post.deleteMany({ where: { authorId: x.id } }).then((r) => r)
      await writer.paused // pre-images: only the victim (no category)
      await c.prisma.post.update({ where: { id: phantom.id }, data: { authorId: x.id } }) // enters the where
      expect(await inCategory()).toBe(1) // stored after the move
      writer.release()
      expect((await del).count).toBe(2)
      expect(await inCategory()).toBe(0)
    } finally {
      await c.prisma.$cacheops.invalidateAll()
      await c.close()
    }
  })

  it('config tags must name models', () => {
    expect(() => testClient('postgresql://x@127.0.0.1:1/x', { tags: { Nope: () => [] } as never })).toThrow(/tags\.Nope/)
  })
})
