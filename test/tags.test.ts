import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { CacheopsConfigError } from '../src/index.ts'
import { countSql, freshDatabase, testClient, type TestClient } from './helpers.ts'

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
