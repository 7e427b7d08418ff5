// $cacheops.invalidateObj / invalidateModel: the manual invalidations for writes made
// outside Prisma (SQL run by hand, another service), as django-cacheops' invalidate_obj and
// invalidate_model.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { CacheopsError } from '../src/index.ts'
import { countSql, freshDatabase, testClient, type TestClient } from './helpers.ts'

let t: TestClient
let alice: number
let bob: number
let post: { id: number; title: string; authorId: number; published: boolean }
let other: number

beforeAll(async () => {
  t = testClient(await freshDatabase('operations'))
  alice = (await t.base.user.create({ data: { email: 'alice@ops.io', name: 'Alice' } })).id
  bob = (await t.base.user.create({ data: { email: 'bob@ops.io', name: 'Bob' } })).id
  post = await t.base.post.create({ data: { title: 'first', authorId: alice }, select: { id: true, title: true, authorId: true, published: true } })
  other = (await t.base.post.create({ data: { title: 'other', authorId: bob } })).id
})
beforeEach(async () => {
  await t.prisma.$cacheops.invalidateAll()
})
afterAll(async () => {
  await t.prisma.$cacheops.invalidateAll()
  await t.close()
})

/** The reads used below, each cached first; `sqlOf` says which of them go to the database again (1) or not (0). */
const reads = {
  post: () => t.prisma.post.findUnique({ where: { id: post.id } }),
  otherPost: () => t.prisma.post.findUnique({ where: { id: other } }),
  byAlice: () => t.prisma.post.findMany({ where: { authorId: alice }, orderBy: { id: 'asc' } }),
  byBob: () => t.prisma.post.findMany({ where: { authorId: bob }, orderBy: { id: 'asc' } }),
  aliceWithPosts: () => t.prisma.user.findUnique({ where: { id: alice }, include: { posts: true } }),
  bobAlone: () => t.prisma.user.findUnique({ where: { id: bob } }),
}
async function sqlOf(): Promise<Record<keyof typeof reads, number>> {
  const out = {} as Record<keyof typeof reads, number>
  for (const [name, read] of Object.entries(reads) as [keyof typeof reads, () => Promise<unknown>][]) out[name] = Math.sign((await countSql(t, read)).sql)
  return out
}

describe('$cacheops.invalidateObj', () => {
  it('drops the cached reads the given row matches, and only those', async () => {
    await sqlOf() // everything cached
    // A write made outside Prisma: the cache cannot know of it.
    await t.base.$executeRaw`UPDATE "Post" SET title = 'changed by hand' WHERE id = ${post.id}`
    expect((await reads.post())?.title).toBe('first') // still the cached row, as expected
    await t.prisma.$cacheops.invalidateObj('Post', post)
    const sql = await sqlOf()
    expect(sql).toEqual({ post: 1, otherPost: 0, byAlice: 1, byBob: 0, aliceWithPosts: 1, bobAlone: 0 })
    expect((await reads.post())?.title).toBe('changed by hand')
    await t.base.post.update({ where: { id: post.id }, data: { title: 'first' } })
  })

  it('given the row as it was and as it is, drops what either matches (a row that moved)', async () => {
    await sqlOf()
    await t.base.$executeRaw`UPDATE "Post" SET "authorId" = ${bob} WHERE id = ${post.id}`
    await t.prisma.$cacheops.invalidateObj('Post', post)
    await t.prisma.$cacheops.invalidateObj('Post', { ...post, authorId: bob })
    const sql = await sqlOf()
    expect(sql).toMatchObject({ post: 1, otherPost: 0, byAlice: 1, byBob: 1 })
    expect((await reads.byBob()).map((p) => p.id)).toEqual([post.id, other].sort((a, b) => a - b))
    await t.base.post.update({ where: { id: post.id }, data: { authorId: alice } })
    await t.prisma.$cacheops.invalidateObj('Post', { ...post, authorId: bob })
    await t.prisma.$cacheops.invalidateObj('Post', post)
  })

  it('refuses an unknown model with a typed error, invalidating nothing', async () => {
    await sqlOf()
    await expect(t.prisma.$cacheops.invalidateObj('Nope' as never, { id: 1 })).rejects.toBeInstanceOf(CacheopsError)
    expect(Object.values(await sqlOf()).every((n) => n === 0)).toBe(true)
  })
})

describe('$cacheops.invalidateModel', () => {
  it('drops every cached read depending on the model (its own and those including it), nothing else', async () => {
    await sqlOf()
    await t.prisma.$cacheops.invalidateModel('Post')
    expect(await sqlOf()).toEqual({ post: 1, otherPost: 1, byAlice: 1, byBob: 1, aliceWithPosts: 1, bobAlone: 0 })
    expect(Object.values(await sqlOf()).every((n) => n === 0)).toBe(true) // cached again
  })

  it('refuses an unknown model with a typed error', async () => {
    await expect(t.prisma.$cacheops.invalidateModel('Nope' as never)).rejects.toBeInstanceOf(CacheopsError)
  })
})
