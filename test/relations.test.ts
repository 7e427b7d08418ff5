// Reads through relations depend on the related rows their result reaches, not whole models.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { countSql, freshDatabase, pauseFirst, testClient, type TestClient } from './helpers.ts'

let t: TestClient
let u1: number
let u2: number
let u3: number

const cached = async (read: () => Promise<unknown>) => (await countSql(t, read)).sql === 0

beforeAll(async () => {
  t = testClient(await freshDatabase('relations'))
  u1 = (await t.base.user.create({ data: { email: 'r1@r.io' } })).id
  u2 = (await t.base.user.create({ data: { email: 'r2@r.io' } })).id
  u3 = (await t.base.user.create({ data: { email: 'r3@r.io' } })).id
})
beforeEach(async () => {
  await t.prisma.$cacheops.invalidateAll()
})
afterAll(async () => {
  await t.prisma.$cacheops.invalidateAll()
  await t.close()
})

describe('include of a to-many relation', () => {
  it('depends on the children of the included parents only', async () => {
    const p1 = await t.base.post.create({ data: { title: 'inc-1', authorId: u1 } })
    const p3 = await t.base.post.create({ data: { title: 'inc-3', authorId: u3 } })
    const read = () => t.prisma.user.findMany({ where: { id: { in: [u1, u2] } }, include: { posts: { orderBy: { id: 'asc' } } }, orderBy: { id: 'asc' } })
    await read()
    await t.prisma.post.update({ where: { id: p3.id }, data: { title: 'inc-3b' } }) // another author's post
    expect(await cached(read)).toBe(true)
    await t.prisma.post.update({ where: { id: p1.id }, data: { title: 'inc-1b' } })
    expect((await read())[0]?.posts.map((p) => p.title)).toContain('inc-1b')
    await t.prisma.post.create({ data: { title: 'inc-2', authorId: u2 } }) // user 2 had none
    expect((await read())[1]?.posts.map((p) => p.title)).toEqual(['inc-2'])
    await t.prisma.post.update({ where: { id: p3.id }, data: { authorId: u1 } }) // moves into user 1
    expect((await read())[0]?.posts.map((p) => p.id)).toContain(p3.id)
  })

  it('_count depends on the counted children only', async () => {
    const read = () => t.prisma.user.findUnique({ where: { id: u2 }, include: { _count: { select: { posts: true } } } })
    const before = (await read())?._count.posts ?? 0
    await t.prisma.post.create({ data: { title: 'count-other', authorId: u3 } })
    expect(await cached(read)).toBe(true)
    await t.prisma.post.create({ data: { title: 'count-mine', authorId: u2 } })
    expect((await read())?._count.posts).toBe(before + 1)
  })

  it('nested includes go as deep as the result', async () => {
    const mine = await t.base.post.create({ data: { title: 'deep-mine', authorId: u2 } })
    const other = await t.base.post.create({ data: { title: 'deep-other', authorId: u3 } })
    const read = () => t.prisma.user.findUnique({ where: { id: u2 }, include: { posts: { include: { comments: true } } } })
    await read()
    await t.prisma.comment.create({ data: { body: 'elsewhere', postId: other.id, authorId: u1 } })
    expect(await cached(read)).toBe(true)
    await t.prisma.comment.create({ data: { body: 'here', postId: mine.id, authorId: u1 } })
    expect((await read())?.posts.find((p) => p.id === mine.id)?.comments.map((c) => c.body)).toEqual(['here'])
  })
})

describe('include of a to-one relation', () => {
  it('depends on the referenced row only', async () => {
    const p = await t.base.post.create({ data: { title: 'to-one', authorId: u1 } })
    const read = () => t.prisma.post.findUnique({ where: { id: p.id }, include: { author: true } })
    await read()
    await t.prisma.user.update({ where: { id: u3 }, data: { name: 'someone else' } })
    expect(await cached(read)).toBe(true)
    await t.prisma.user.update({ where: { id: u1 }, data: { name: 'the author' } })
    expect((await read())?.author.name).toBe('the author')
  })

  it('a relation selected without its foreign key falls back to the whole model', async () => {
    const p = await t.base.post.create({ data: { title: 'no-fk', authorId: u1 } })
    const read = () => t.prisma.post.findUnique({ where: { id: p.id }, select: { title: true, author: { select: { name: true } } } })
    await read()
    await t.prisma.user.update({ where: { id: u3 }, data: { name: 'any user' } })
    expect(await cached(read)).toBe(false)
  })
})

describe('include of an implicit many-to-many relation', () => {
  it('depends on the linked rows and on the parents’ links', async () => {
    const post = await t.base.post.create({ data: { title: 'm2m-inc', authorId: u1, tags: { create: [{ name: 'linked' }] } } })
    const unrelated = await t.base.tag.create({ data: { name: 'unlinked' } })
    const read = () => t.prisma.post.findUnique({ where: { id: post.id }, include: { tags: { orderBy: { id: 'asc' } } } })
    await read()
    await t.prisma.tag.update({ where: { id: unrelated.id }, data: { name: 'unlinked-2' } })
    expect(await cached(read)).toBe(true)
    await t.prisma.tag.update({ where: { name: 'linked' }, data: { name: 'linked-2' } })
    expect((await read())?.tags.map((x) => x.name)).toEqual(['linked-2'])
    await t.prisma.post.update({ where: { id: post.id }, data: { tags: { connect: { id: unrelated.id } } } })
    expect((await read())?.tags.map((x) => x.name)).toEqual(['linked-2', 'unlinked-2'])
    await t.prisma.tag.update({ where: { id: unrelated.id }, data: { posts: { disconnect: { id: post.id } } } })
    expect((await read())?.tags.map((x) => x.name)).toEqual(['linked-2'])
  })
})

describe('an implicit many-to-many include that leaves linked rows out (where, take)', () => {
  it('a linked row that starts matching the include filter', async () => {
    const u = await t.base.user.create({ data: { email: 'm2m-a@x.io' } })
    const tag = await t.base.tag.create({ data: { name: 'm2m-a' } })
    const post = await t.base.post.create({ data: { title: 'p', authorId: u.id, published: false, tags: { connect: { id: tag.id } } } })
    const read = (p: typeof t.prisma | typeof t.base) =>
      p.tag.findUnique({ where: { id: tag.id }, include: { posts: { where: { published: true } } } })
    expect((await read(t.prisma))!.posts).toEqual([])
    expect(await cached(() => read(t.prisma))).toBe(true)
    await t.prisma.post.update({ where: { id: post.id }, data: { published: true } })
    expect((await read(t.base))!.posts).toHaveLength(1)
    expect((await read(t.prisma))!.posts).toHaveLength(1) // cached: []
  })

  it('a linked row that moves into a take-1 page (orderBy views)', async () => {
    const u = await t.base.user.create({ data: { email: 'm2m-b@x.io' } })
    const tag = await t.base.tag.create({ data: { name: 'm2m-b' } })
    await t.base.post.create({ data: { title: 'p1', views: 10, authorId: u.id, tags: { connect: { id: tag.id } } } })
    const p2 = await t.base.post.create({ data: { title: 'p2', views: 1, authorId: u.id, tags: { connect: { id: tag.id } } } })
    const read = (p: typeof t.prisma | typeof t.base) =>
      p.tag.findUnique({ where: { id: tag.id }, select: { id: true, name: true, posts: { take: 1, orderBy: { views: 'desc' }, select: { id: true, title: true } } } })
    const other = await t.base.post.create({ data: { title: 'p3', authorId: u.id } })
    await read(t.prisma)
    // A write the process learns the model's current schemes from (else the next write may go model-wide).
    await t.prisma.post.update({ where: { id: other.id }, data: { views: 5 } })
    await read(t.prisma)
    expect(await cached(() => read(t.prisma))).toBe(true)
    await t.prisma.post.update({ where: { id: p2.id }, data: { views: 100 } })
    expect(await read(t.prisma)).toEqual(await read(t.base)) // cached: p1
  })

  it('from the Post side: a linked tag renamed into the filter', async () => {
    const u = await t.base.user.create({ data: { email: 'm2m-c@x.io' } })
    const tag = await t.base.tag.create({ data: { name: 'm2m-c-old' } })
    const post = await t.base.post.create({ data: { title: 'p', authorId: u.id, tags: { connect: { id: tag.id } } } })
    const read = (p: typeof t.prisma | typeof t.base) =>
      p.post.findUnique({ where: { id: post.id }, include: { tags: { where: { name: { startsWith: 'm2m-c-new' } } } } })
    expect((await read(t.prisma))!.tags).toEqual([])
    expect(await cached(() => read(t.prisma))).toBe(true)
    await t.prisma.tag.update({ where: { id: tag.id }, data: { name: 'm2m-c-new' } })
    expect(await read(t.prisma)).toEqual(await read(t.base)) // cached: no tags
  })
})

describe('stale-set safety of result-derived dependencies', () => {
  it('refuses to store an include read when a related row was written during the read', async () => {
    const { client: gated, paused: inDb, release } = pauseFirst(t, 'user', 'findUnique', 'after')
    const read = () => gated.user.findUnique({ where: { id: u3 }, include: { posts: { where: { title: 'race' } } } })
    const pending = read().then((x) => x)
    await inDb // read the database: no 'race' post yet
    await t.prisma.post.create({ data: { title: 'race', authorId: u3 } })
    release()
    expect((await pending)?.posts).toEqual([])
    expect((await read())?.posts.map((p) => p.title)).toEqual(['race'])
  })
})

describe('_count through an implicit many-to-many', () => {
  it('changes when a linked row is deleted (found by the consistency checker)', async () => {
    const tag = await t.base.tag.create({ data: { name: 'count-m2m', posts: { create: [{ title: 'cm2m-1', authorId: u1 }, { title: 'cm2m-2', authorId: u1 }] } } })
    const read = () => t.prisma.tag.findUnique({ where: { id: tag.id }, include: { _count: { select: { posts: true } } } })
    expect((await read())?._count.posts).toBe(2)
    const linked = await t.base.post.findFirstOrThrow({ where: { title: 'cm2m-1' } })
    await t.prisma.post.delete({ where: { id: linked.id } })
    expect((await read())?._count.posts).toBe(1)
  })
})
