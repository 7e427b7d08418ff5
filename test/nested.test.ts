// Nested writes invalidate the related rows they change, not their whole models.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { countSql, freshDatabase, pauseFirst, rawRedis, testClient, type TestClient } from './helpers.ts'
import { itRedis } from './stores.ts'

let t: TestClient
let u1: number
let u2: number

const cached = async (read: () => Promise<unknown>) => (await countSql(t, read)).sql === 0

beforeAll(async () => {
  t = testClient(await freshDatabase('nested'))
  u1 = (await t.base.user.create({ data: { email: 'n1@n.io' } })).id
  u2 = (await t.base.user.create({ data: { email: 'n2@n.io' } })).id
})
beforeEach(async () => {
  await t.prisma.$cacheops.invalidateAll()
})
afterAll(async () => {
  await t.prisma.$cacheops.invalidateAll()
  await t.close()
})

const postsOf = (id: number) => () => t.prisma.post.findMany({ where: { authorId: id }, orderBy: { id: 'asc' } })

describe('nested writes are granular', () => {
  it('create / update / delete of children through the parent', async () => {
    await postsOf(u1)()
    await postsOf(u2)()
    await t.prisma.user.update({ where: { id: u1 }, data: { posts: { create: { title: 'n-created' } } } })
    expect(await cached(postsOf(u2))).toBe(true)
    const created = (await postsOf(u1)()).find((p) => p.title === 'n-created')!
    expect(created).toBeDefined()
    await t.prisma.user.update({ where: { id: u1 }, data: { posts: { update: { where: { id: created.id }, data: { title: 'n-updated' } } } } })
    expect(await cached(postsOf(u2))).toBe(true)
    expect((await postsOf(u1)()).map((p) => p.title)).toContain('n-updated')
    const byTitle = () => t.prisma.post.findMany({ where: { title: 'n-updated' } })
    expect(await byTitle()).toHaveLength(1)
    await t.prisma.user.update({ where: { id: u1 }, data: { posts: { delete: { id: created.id } } } })
    expect(await byTitle()).toEqual([])
    expect(await cached(postsOf(u2))).toBe(true)
  })

  it('connect moves a row: its old and new parent’s reads go, others stay', async () => {
    const p = await t.base.post.create({ data: { title: 'n-moving', authorId: u2 } })
    const u3 = (await t.base.user.create({ data: { email: 'n3@n.io' } })).id
    await postsOf(u1)()
    await postsOf(u2)()
    await postsOf(u3)()
    await t.prisma.user.update({ where: { id: u1 }, data: { posts: { connect: { id: p.id } } } })
    expect(await cached(postsOf(u3))).toBe(true)
    expect((await postsOf(u1)()).map((x) => x.id)).toContain(p.id)
    expect((await postsOf(u2)()).map((x) => x.id)).not.toContain(p.id)
  })

  it('deep nested create through two levels', async () => {
    const post = await t.base.post.create({ data: { title: 'n-deep', authorId: u1 } })
    const other = await t.base.post.create({ data: { title: 'n-other', authorId: u1 } })
    const commentsOf = (id: number) => () => t.prisma.comment.findMany({ where: { postId: id } })
    await commentsOf(post.id)()
    await commentsOf(other.id)()
    await t.prisma.user.update({
      where: { id: u1 },
      data: { posts: { update: { where: { id: post.id }, data: { comments: { create: { body: 'deep', authorId: u2 } } } } } },
    })
    expect(await cached(commentsOf(other.id))).toBe(true)
    expect((await commentsOf(post.id)()).map((c) => c.body)).toEqual(['deep'])
  })

  it('many-to-many connect / set from either side', async () => {
    const post = await t.base.post.create({ data: { title: 'n-m2m', authorId: u1 } })
    const tag = await t.base.tag.create({ data: { name: 'n-tag' } })
    const otherTag = await t.base.tag.create({ data: { name: 'n-other-tag' } })
    const tagPosts = () => t.prisma.tag.findUnique({ where: { id: tag.id }, include: { posts: true } })
    const otherTagRead = () => t.prisma.tag.findUnique({ where: { id: otherTag.id } })
    expect((await tagPosts())?.posts).toEqual([])
    await otherTagRead()
    await t.prisma.post.update({ where: { id: post.id }, data: { tags: { connect: { id: tag.id } } } })
    expect((await tagPosts())?.posts.map((p) => p.id)).toEqual([post.id])
    expect(await cached(otherTagRead)).toBe(true)
    await t.prisma.tag.update({ where: { id: tag.id }, data: { posts: { set: [] } } })
    expect((await tagPosts())?.posts).toEqual([])
    const postTags = () => t.prisma.post.findUnique({ where: { id: post.id }, include: { tags: true } })
    expect((await postTags())?.tags).toEqual([])
  })

  it('a nested delete that cascades makes the cascaded model whole', async () => {
    const post = await t.base.post.create({ data: { title: 'n-casc', authorId: u2, comments: { create: { body: 'c', authorId: u1 } } } })
    const comments = () => t.prisma.comment.findMany({ where: { postId: post.id } })
    expect(await comments()).toHaveLength(1)
    await t.prisma.user.update({ where: { id: u2 }, data: { posts: { delete: { id: post.id } } } })
    expect(await comments()).toEqual([])
  })

  it('a to-one nested update changes the related row', async () => {
    const post = await t.base.post.create({ data: { title: 'n-one', authorId: u2 } })
    const author = () => t.prisma.user.findUnique({ where: { id: u2 } })
    const otherUser = () => t.prisma.user.findUnique({ where: { id: u1 } })
    await author()
    await otherUser()
    await t.prisma.post.update({ where: { id: post.id }, data: { author: { update: { name: 'renamed' } } } })
    expect((await author())?.name).toBe('renamed')
    expect(await cached(otherUser)).toBe(true)
  })

  it('nested writes in a create', async () => {
    const byTitle = () => t.prisma.post.findMany({ where: { title: 'n-in-create' } })
    await postsOf(u2)()
    expect(await byTitle()).toEqual([])
    await t.prisma.user.create({ data: { email: 'n-new@n.io', posts: { create: [{ title: 'n-in-create' }] } } })
    expect(await byTitle()).toHaveLength(1)
    expect(await cached(postsOf(u2))).toBe(true)
  })
})

describe('mass writes', () => {
  it('createMany reads its rows back by a unique key the data provides', async () => {
    await postsOf(u1)()
    await postsOf(u2)()
    await t.prisma.post.createMany({ data: [{ title: 'cm-1', authorId: u1 }, { title: 'cm-2', authorId: u1 }] })
    expect(await cached(postsOf(u2))).toBe(true)
    expect((await postsOf(u1)()).map((p) => p.title)).toEqual(expect.arrayContaining(['cm-1', 'cm-2']))
  })

  it('createMany whose data lacks a cached field and any unique key invalidates the model whole', async () => {
    const post = await t.base.post.create({ data: { title: 'cm-c', authorId: u1 } })
    const byId = () => t.prisma.comment.findUnique({ where: { id: 987_654 } }) // the id scheme: ids are assigned by the database
    await byId()
    await t.prisma.comment.createMany({ data: [{ body: 'cm', postId: post.id, authorId: u1 }] })
    expect(await cached(byId)).toBe(false)
  })

  it('createManyAndReturn and updateManyAndReturn are granular', async () => {
    await postsOf(u1)()
    await postsOf(u2)()
    const rows = await t.prisma.post.createManyAndReturn({ data: [{ title: 'cmr', authorId: u1 }], select: { id: true } })
    expect(rows).toEqual([{ id: expect.any(Number) }])
    expect(await cached(postsOf(u2))).toBe(true)
    expect((await postsOf(u1)()).map((p) => p.title)).toContain('cmr')
    const published = () => t.prisma.post.findMany({ where: { published: true, authorId: u1 } })
    await published()
    await t.prisma.post.updateManyAndReturn({ where: { title: 'cmr' }, data: { published: true } })
    expect(await cached(postsOf(u2))).toBe(true)
    expect((await published()).map((p) => p.title)).toEqual(['cmr'])
  })

  it('updateMany is granular: the updated rows before and after', async () => {
    const x = await t.base.user.create({ data: { email: 'um-x@n.io', posts: { create: [{ title: 'um-1' }, { title: 'um-2' }] } } })
    const published = () => t.prisma.post.findMany({ where: { authorId: x.id, published: true } })
    expect(await published()).toEqual([])
    await postsOf(u2)()
    await t.prisma.post.updateMany({ where: { authorId: x.id }, data: { published: true } })
    expect(await published()).toHaveLength(2)
    expect(await cached(postsOf(u2))).toBe(true)
  })

  it('updateMany with a non-plain value (increment) invalidates the model whole', async () => {
    await postsOf(u2)()
    await t.prisma.post.updateMany({ where: { title: 'nothing-matches' }, data: { views: { increment: 1 } } })
    expect(await cached(postsOf(u2))).toBe(false)
  })
})

describe('referential actions are granular', () => {
  it('a cascading delete (User → Post → Comment): its direct children granularly, the level below whole', async () => {
    const doomed = await t.base.user.create({ data: { email: 'casc-doomed@n.io', posts: { create: { title: 'casc-p', comments: { create: { body: 'casc-c', authorId: u1 } } } } } })
    const doomedPost = (await t.base.post.findFirstOrThrow({ where: { authorId: doomed.id } })).id
    const keptPost = await t.base.post.create({ data: { title: 'casc-kept', authorId: u2, comments: { create: { body: 'kept', authorId: u2 } } } })
    const doomedPosts = postsOf(doomed.id)
    const doomedComments = () => t.prisma.comment.findMany({ where: { postId: doomedPost } })
    const keptComments = () => t.prisma.comment.findMany({ where: { postId: keptPost.id } })
    expect(await doomedPosts()).toHaveLength(1)
    expect(await doomedComments()).toHaveLength(1)
    await postsOf(u2)()
    await keptComments()
    await t.prisma.user.delete({ where: { id: doomed.id } })
    expect(await doomedPosts()).toEqual([])
    expect(await doomedComments()).toEqual([])
    expect(await cached(postsOf(u2))).toBe(true) // Post: granular
    expect(await cached(keptComments)).toBe(false) // Comment, two levels down: whole (see design.md)
  })

  it('ON DELETE SET NULL re-keys the children: old and new key reads go, others stay', async () => {
    const cat = await t.base.category.create({ data: { title: 'setnull-cat' } })
    const other = await t.base.category.create({ data: { title: 'setnull-other' } })
    await t.base.post.create({ data: { title: 'setnull-p', authorId: u1, categoryId: cat.id } })
    const inCat = () => t.prisma.post.findMany({ where: { categoryId: cat.id } })
    const inOther = () => t.prisma.post.findMany({ where: { categoryId: other.id } })
    const uncategorized = () => t.prisma.post.findMany({ where: { categoryId: null, title: 'setnull-p' } })
    expect(await inCat()).toHaveLength(1)
    expect(await uncategorized()).toEqual([])
    await inOther()
    await t.prisma.category.delete({ where: { id: cat.id } })
    expect(await inCat()).toEqual([])
    expect(await uncategorized()).toHaveLength(1)
    expect(await cached(inOther)).toBe(true)
  })

  it('deleteMany cascades whole models (rows entering its where bring children nobody read)', async () => {
    const v = await t.base.user.create({ data: { email: 'casc-many@n.io', posts: { create: { title: 'casc-many-p' } } } })
    const vPosts = postsOf(v.id)
    expect(await vPosts()).toHaveLength(1)
    await t.prisma.user.deleteMany({ where: { email: 'casc-many@n.io' } })
    expect(await vPosts()).toEqual([])
  })

  it('a child moved under the deleted row meanwhile takes its own children along (found by the checker)', async () => {
    const victim = await t.base.user.create({ data: { email: 'casc-race@n.io' } })
    const mover = await t.base.post.create({ data: { title: 'casc-mover', authorId: u2, comments: { create: { body: 'rides along', authorId: u1 } } } })
    const moverComments = () => t.prisma.comment.findMany({ where: { postId: mover.id } })
    expect(await moverComments()).toHaveLength(1)
    const { client, paused, release } = pauseFirst(t, 'user', 'delete', 'before')
    const del = client.user.delete({ where: { id: victim.id } }).then((u) => u)
    await paused // children read: none
    await t.prisma.post.update({ where: { id: mover.id }, data: { authorId: victim.id } }) // moves under the victim
    release()
    await del
    expect(await t.base.post.findUnique({ where: { id: mover.id } })).toBeNull() // cascaded
    expect(await moverComments()).toEqual([])
  })

  it('a child moved under a SET NULL parent meanwhile gets its nulled image invalidated (update transform)', async () => {
    const cat = await t.base.category.create({ data: { title: 'setnull-race' } })
    const elsewhere = await t.base.category.create({ data: { title: 'setnull-elsewhere' } })
    const post = await t.base.post.create({ data: { title: 'setnull-mover', authorId: u1, categoryId: elsewhere.id } })
    // Cached before: neither the mover's old image (elsewhere) nor its moved one (cat) falls
    // under it, only the one the database gives it when cat goes (null).
    const uncategorized = () => t.prisma.post.findMany({ where: { categoryId: null, title: 'setnull-mover' } })
    expect(await uncategorized()).toEqual([])
    const { client, paused, release } = pauseFirst(t, 'category', 'delete', 'before')
    const del = client.category.delete({ where: { id: cat.id } }).then((x) => x)
    await paused // children read: none
    await t.prisma.post.update({ where: { id: post.id }, data: { categoryId: cat.id } }) // moves in
    release()
    await del
    expect((await uncategorized()).map((p) => p.id)).toEqual([post.id]) // nulled by the database
  })
})

describe('ON UPDATE CASCADE is granular', () => {
  it('re-keyed children: old and new key reads go, others stay', async () => {
    const owner = await t.base.user.create({ data: { email: 'rekey-owner@n.io', posts: { create: { title: 'rekey-p' } } } })
    const newId = owner.id + 50_000
    const oldKey = postsOf(owner.id)
    const newKey = postsOf(newId)
    expect(await oldKey()).toHaveLength(1)
    expect(await newKey()).toEqual([])
    await postsOf(u2)()
    await t.prisma.user.update({ where: { id: owner.id }, data: { id: newId } })
    expect(await oldKey()).toEqual([])
    expect((await newKey()).map((p) => p.title)).toEqual(['rekey-p'])
    expect(await cached(postsOf(u2))).toBe(true)
  })
})

describe('nested writes that take children from under the parent', () => {
  it.each([['disconnect'], ['set']])('%s: the children, their foreign key now null, are invalidated where they are now', async (op) => {
    const u = await t.base.user.create({ data: { email: `nd-${op}@n.io` } })
    const cat = await t.base.category.create({ data: { title: `nd-${op}` } })
    const p = await t.base.post.create({ data: { title: `nd-${op}-p`, authorId: u.id, categoryId: cat.id } })
    const uncategorized = () => t.prisma.post.findMany({ where: { authorId: u.id, categoryId: null }, select: { id: true } })
    expect(await uncategorized()).toEqual([])
    await t.prisma.category.update({ where: { id: cat.id }, data: op === 'disconnect' ? { posts: { disconnect: { id: p.id } } } : { posts: { set: [] } } })
    expect(await uncategorized()).toEqual([{ id: p.id }])
  })
})

describe('updateMany and rows entering its where clause during it', () => {
  it('invalidates a row that a concurrent write moved into the where clause (update transforms)', async () => {
    const ua = await t.base.user.create({ data: { email: 'um-a@n.io' } })
    const ub = await t.base.user.create({ data: { email: 'um-b@n.io' } })
    await t.base.post.create({ data: { title: 'um-r', authorId: ua.id } })
    const phantom = await t.base.post.create({ data: { title: 'um-phantom', authorId: ub.id } })
    // Depends on the phantom's title only: neither its old nor its moved image nor the
    // update's own rows fall under it; only the phantom with the update's data does.
    const publishedPhantom = () => t.prisma.post.findMany({ where: { title: 'um-phantom', published: true } })
    expect(await publishedPhantom()).toEqual([])
    const { client, paused, release } = pauseFirst(t, 'post', 'updateMany', 'before')
    const update = client.post.updateMany({ where: { authorId: ua.id }, data: { published: true } }).then((r) => r)
    await paused // pre-images read: only um-r
    await t.prisma.post.update({ where: { id: phantom.id }, data: { authorId: ua.id } }) // enters the where
    release()
    expect((await update).count).toBe(2)
    expect((await publishedPhantom()).map((p) => p.id)).toEqual([phantom.id])
  })

  it('refuses to store a result read during it that arrives after it ended', async () => {
    const ua = await t.base.user.create({ data: { email: 'um-late-a@n.io' } })
    const ub = await t.base.user.create({ data: { email: 'um-late-b@n.io' } })
    await t.base.post.create({ data: { title: 'um-late-r', authorId: ua.id } })
    const phantom = await t.base.post.create({ data: { title: 'um-late-phantom', authorId: ub.id } })
    const unpublishedPhantom = () => t.prisma.post.findMany({ where: { title: 'um-late-phantom', published: false } })
    expect(await unpublishedPhantom()).toHaveLength(1) // its scheme registered before the update starts
    const writer = pauseFirst(t, 'post', 'updateMany', 'before')
    const update = writer.client.post.updateMany({ where: { authorId: ua.id }, data: { published: true } }).then((r) => r)
    await writer.paused // pre-images read: only um-late-r
    await t.prisma.post.update({ where: { id: phantom.id }, data: { authorId: ua.id } }) // enters the where
    // Read after the move, before the update: the phantom unpublished. Its store waits
    // until the updateMany has published it and ended.
    const reader = pauseFirst(t, 'post', 'findMany', 'after')
    const read = reader.client.post.findMany({ where: { title: 'um-late-phantom', published: false } }).then((r) => r)
    await reader.paused
    writer.release()
    expect((await update).count).toBe(2)
    reader.release()
    expect(await read).toHaveLength(1)
    expect(await unpublishedPhantom()).toEqual([])
  })
})

describe('concurrent updateManys: their data applied together', () => {
  it('a row both update is invalidated as both left it', async () => {
    const ua = await t.base.user.create({ data: { email: 'cx2-a@n.io' } })
    const r = await t.base.post.create({ data: { title: 'cx2-r', authorId: ua.id } })
    const q = () => t.prisma.post.findMany({ where: { authorId: ua.id, views: 7, published: true }, select: { id: true } })
    expect(await q()).toEqual([]) // its scheme: authorId, published, views
    const g1 = pauseFirst(t, 'post', 'updateMany', 'before')
    const g2 = pauseFirst(t, 'post', 'updateMany', 'before')
    const u1 = g1.client.post.updateMany({ where: { authorId: ua.id }, data: { published: true } }).then((x) => x)
    await g1.paused // pre-image: views 0, unpublished
    const u2 = g2.client.post.updateMany({ where: { authorId: ua.id }, data: { views: 7 } }).then((x) => x)
    await g2.paused // the same pre-image
    g1.release()
    expect((await u1).count).toBe(1)
    g2.release()
    expect((await u2).count).toBe(1)
    expect(await q()).toEqual([{ id: r.id }]) // views 7 and published: neither change alone
  })

  it("a row one moves into the other's where clause gets the other's data on top", async () => {
    const ua = await t.base.user.create({ data: { email: 'cx-a@n.io' } })
    const ub = await t.base.user.create({ data: { email: 'cx-b@n.io' } })
    await t.base.post.create({ data: { title: 'cx-r', authorId: ua.id } })
    const phantom = await t.base.post.create({ data: { title: 'cx-phantom', authorId: ub.id } })
    const q = () => t.prisma.post.findMany({ where: { authorId: ua.id, published: true, title: 'cx-phantom' }, select: { id: true } })
    expect(await q()).toEqual([])
    const u1 = pauseFirst(t, 'post', 'updateMany', 'before')
    const first = u1.client.post.updateMany({ where: { authorId: ua.id }, data: { published: true } }).then((x) => x)
    await u1.paused // its pre-read found cx-r only
    expect((await t.prisma.post.updateMany({ where: { title: 'cx-phantom' }, data: { authorId: ua.id } })).count).toBe(1)
    expect(await q()).toEqual([]) // not published yet
    u1.release()
    expect((await first).count).toBe(2)
    expect(await q()).toEqual([{ id: phantom.id }])
  })
})

describe('a create whose nested data only creates', () => {
  it('takes the new rows from the write itself: one statement more than plain Prisma, no reads around it', async () => {
    const byTitle = (title: string) => () => t.prisma.post.findMany({ where: { title } })
    const bystander = postsOf(u2)
    expect(await byTitle('nc-1')()).toEqual([])
    await bystander()
    const plain = await countSql(t, () => t.base.user.create({ data: { email: 'nc-plain@n.io', posts: { create: [{ title: 'nc-0' }] } } }))
    const cachedCreate = await countSql(t, () => t.prisma.user.create({ data: { email: 'nc-cached@n.io', posts: { create: [{ title: 'nc-1' }, { title: 'nc-2' }] } } }))
    expect(cachedCreate.sql).toBe(plain.sql + 1)
    expect('posts' in cachedCreate.value).toBe(false) // the include it added is not returned
    expect((await byTitle('nc-1')()).map((p) => p.authorId)).toEqual([cachedCreate.value.id])
    expect(await cached(bystander)).toBe(true)
    // Deeper creates, and a caller's own include (then the general path), are covered too.
    expect(await byTitle('nc-3')()).toEqual([])
    const comments = () => t.prisma.comment.findMany({ where: { body: 'nc-deep' } })
    expect(await comments()).toEqual([])
    const deep = await t.prisma.user.create({
      data: { email: 'nc-deep@n.io', posts: { create: { title: 'nc-3', comments: { create: { body: 'nc-deep', authorId: u1 } } } } },
      include: { posts: true },
    })
    expect(deep.posts.map((p) => p.title)).toEqual(['nc-3'])
    expect((await byTitle('nc-3')()).map((p) => p.authorId)).toEqual([deep.id])
    expect(await comments()).toHaveLength(1)
    const deeperComments = () => t.prisma.comment.findMany({ where: { body: 'nc-deeper' } })
    expect(await deeperComments()).toEqual([])
    const deeper = await t.prisma.user.create({ data: { email: 'nc-deeper@n.io', posts: { create: { title: 'nc-4', comments: { create: { body: 'nc-deeper', authorId: u1 } } } } } })
    expect('posts' in deeper).toBe(false)
    expect(await deeperComments()).toHaveLength(1)
  })
})

describe('update transforms stay cheap however many updateManys run', () => {
  itRedis('updateManys setting the same values share one registration, counted while they run', async () => {
    const redis = rawRedis()
    try {
      const key = `${t.prefix}u:Post`
      await t.prisma.post.findMany({ where: { published: true } }) // a scheme with the field
      for (let i = 0; i < 30; i++) await t.prisma.post.updateMany({ where: { id: -1 - i }, data: { published: i % 2 === 0 } })
      const all = await redis.hgetall(key)
      expect(Object.keys(all).sort()).toEqual(['published\tfalse', 'published\ttrue'])
      for (const v of Object.values(all)) expect(v.split('\t')[0]).toBe('0') // all ended
      // Two writers with the same data: the first one ending leaves it registered as running.
      const { client, paused, release } = pauseFirst(t, 'post', 'updateMany', 'before')
      const first = client.post.updateMany({ where: { id: -100 }, data: { published: true } }).then((r) => r)
      await paused
      expect((await redis.hget(key, 'published\ttrue'))!.split('\t')[0]).toBe('1')
      await t.prisma.post.updateMany({ where: { id: -101 }, data: { published: true } })
      expect((await redis.hget(key, 'published\ttrue'))!.split('\t')[0]).toBe('1')
      release()
      await first
      expect((await redis.hget(key, 'published\ttrue'))!.split('\t')[0]).toBe('0')
    } finally {
      redis.disconnect()
    }
  })

  it('applies every distinct value, and past 64 of them for one scheme invalidates the model whole', async () => {
    const author = await t.base.user.create({ data: { email: 'variants@n.io' } })
    const row = await t.base.post.create({ data: { title: 'variants-row', authorId: author.id, published: true } })
    const bystander = await t.base.post.create({ data: { title: 'variants-bystander', authorId: u2 } })
    const byTitle = (title: string) => () => t.prisma.post.findMany({ where: { title, published: true } })
    const other = () => t.prisma.post.findUnique({ where: { id: bystander.id } })
    const run = async (n: number, tag: string) => {
      // updateManys matching nothing: each registers its data for the grace period.
      for (let i = 0; i < n; i++) await t.prisma.post.updateMany({ where: { id: -1 }, data: { title: `${tag}-${i}` } })
      const last = byTitle(`${tag}-${n - 1}`)
      expect(await last()).toEqual([])
      await other()
      // Any write of the model now also invalidates its row under every registered value:
      // exactly (a bystander's entry survives) up to 64 of them, the model whole beyond.
      await t.prisma.post.update({ where: { id: row.id }, data: { views: { increment: 1 } } })
      return { lastCached: await cached(last), otherCached: await cached(other) }
    }
    expect(await run(3, 'few')).toEqual({ lastCached: false, otherCached: true })
    expect(await run(70, 'many')).toEqual({ lastCached: false, otherCached: false })
  })
})

describe('createMany without a unique key', () => {
  it('uses its data when it holds every field the cached reads of the model use', async () => {
    const post = await t.base.post.create({ data: { title: 'cm-data', authorId: u1 } })
    const other = await t.base.post.create({ data: { title: 'cm-data-other', authorId: u1 } })
    const ofPost = (id: number) => () => t.prisma.comment.findMany({ where: { postId: id } })
    await ofPost(post.id)()
    await ofPost(other.id)()
    await t.prisma.comment.createMany({ data: [{ body: 'a', postId: post.id, authorId: u1 }, { body: 'b', postId: post.id, authorId: u2 }] })
    expect(await cached(ofPost(other.id))).toBe(true)
    expect((await ofPost(post.id)()).map((c) => c.body).sort()).toEqual(['a', 'b'])
  })
})

describe('more nested operations', () => {
  it('connectOrCreate, nested upsert, updateMany and deleteMany through the parent', async () => {
    const owner = await t.base.user.create({ data: { email: 'more-nested@n.io', posts: { create: [{ title: 'mn-1' }, { title: 'mn-2' }] } } })
    const read = postsOf(owner.id)
    const tagRead = () => t.prisma.tag.findMany({ where: { name: 'mn-tag' } })
    await read()
    await tagRead()
    await postsOf(u2)()
    const p1 = (await read()).find((p) => p.title === 'mn-1')!
    await t.prisma.post.update({ where: { id: p1.id }, data: { tags: { connectOrCreate: { where: { name: 'mn-tag' }, create: { name: 'mn-tag' } } } } })
    expect(await tagRead()).toHaveLength(1)
    await t.prisma.user.update({ where: { id: owner.id }, data: { posts: { upsert: { where: { id: p1.id }, create: { title: 'never' }, update: { title: 'mn-1b' } } } } })
    expect((await read()).map((p) => p.title)).toContain('mn-1b')
    await t.prisma.user.update({ where: { id: owner.id }, data: { posts: { updateMany: { where: {}, data: { published: true } } } } })
    expect((await read()).every((p) => p.published)).toBe(true)
    await t.prisma.user.update({ where: { id: owner.id }, data: { posts: { deleteMany: { title: 'mn-2' } } } })
    expect((await read()).map((p) => p.title)).toEqual(['mn-1b'])
    expect(await cached(postsOf(u2))).toBe(true)
  })
})

describe('explicit many-to-many (Membership)', () => {
  it('a group with its members depends on its memberships only', async () => {
    await t.base.group.create({ data: { tenant: 'em', slug: 'one', name: 'One' } })
    await t.base.group.create({ data: { tenant: 'em', slug: 'two', name: 'Two' } })
    const one = () => t.prisma.group.findUnique({ where: { tenant_slug: { tenant: 'em', slug: 'one' } }, include: { members: { include: { user: true } } } })
    expect((await one())?.members).toEqual([])
    await t.prisma.membership.create({ data: { userId: u1, tenant: 'em', slug: 'two' } })
    expect(await cached(one)).toBe(true)
    await t.prisma.membership.create({ data: { userId: u2, tenant: 'em', slug: 'one' } })
    expect((await one())?.members.map((m) => m.userId)).toEqual([u2])
    await t.prisma.user.update({ where: { id: u2 }, data: { name: 'member renamed' } })
    expect((await one())?.members[0]?.user.name).toBe('member renamed')
  })
})

describe('nested createMany and disconnect', () => {
  it('are granular too', async () => {
    const owner = await t.base.user.create({ data: { email: 'ncm@n.io' } })
    const cat = await t.base.category.create({ data: { title: 'ncm-cat' } })
    const read = postsOf(owner.id)
    const inCat = () => t.prisma.post.findMany({ where: { categoryId: cat.id } })
    await read()
    await inCat()
    await postsOf(u2)()
    await t.prisma.user.update({ where: { id: owner.id }, data: { posts: { createMany: { data: [{ title: 'ncm-1', categoryId: cat.id }, { title: 'ncm-2' }] } } } })
    expect((await read()).map((p) => p.title).sort()).toEqual(['ncm-1', 'ncm-2'])
    expect((await inCat()).map((p) => p.title)).toEqual(['ncm-1'])
    await t.prisma.category.update({ where: { id: cat.id }, data: { posts: { disconnect: { id: (await inCat())[0]!.id } } } })
    expect(await inCat()).toEqual([])
    expect(await cached(postsOf(u2))).toBe(true)
  })
})
