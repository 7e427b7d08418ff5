// Writes that reach rows the operation does not name, on schema shapes found in real
// applications (issue 20): referential actions in batch transactions, one model reached at
// two depths, models without @id, a foreign key changed through `connect` that the database
// cascades, and a nested write failing inside an interactive transaction.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { freshDatabase, testClient, type TestClient } from './helpers.ts'

let t: TestClient

beforeAll(async () => {
  t = testClient(await freshDatabase('shapes'))
})
beforeEach(async () => {
  await t.prisma.$cacheops.invalidateAll()
})
afterAll(async () => {
  await t.prisma.$cacheops.invalidateAll()
  await t.close()
})

/** An org with settings, two docs and a profile; returns the org's id. */
async function orgTree(name: string): Promise<number> {
  const org = await t.base.org.create({ data: { name, profile: { create: { bio: `${name} bio` } } } })
  await t.base.orgSettings.create({ data: { orgId: org.id, docs: { create: [{ title: `${name} d1` }, { title: `${name} d2` }] } } })
  return org.id
}

describe('batch transactions apply the database’s referential actions', () => {
  it('delete: cascaded children at every depth are invalidated', async () => {
    const org = await orgTree('bt-del')
    expect(await t.prisma.orgSettings.count({ where: { orgId: org } })).toBe(1)
    expect(await t.prisma.doc.findMany({ where: { orgId: org } })).toHaveLength(2)
    expect(await t.prisma.orgProfile.findUnique({ where: { orgId: org } })).not.toBeNull()
    await t.prisma.$transaction([t.prisma.org.delete({ where: { id: org } })])
    expect(await t.prisma.orgSettings.count({ where: { orgId: org } })).toBe(0)
    expect(await t.prisma.doc.findMany({ where: { orgId: org } })).toEqual([])
    expect(await t.prisma.orgProfile.findUnique({ where: { orgId: org } })).toBeNull()
  })

  it('deleteMany: the same', async () => {
    const org = await orgTree('bt-delmany')
    expect(await t.prisma.doc.count()).toBeGreaterThan(0)
    const before = await t.prisma.doc.count()
    await t.prisma.$transaction([t.prisma.org.deleteMany({ where: { name: 'bt-delmany' } })])
    expect(await t.prisma.doc.count()).toBe(before - 2)
    expect(await t.prisma.doc.findMany({ where: { orgId: org } })).toEqual([])
  })

  it('delete: SET NULL children are invalidated', async () => {
    const u = await t.base.user.create({ data: { email: 'bt-setnull@x.io' } })
    const c = await t.base.category.create({ data: { title: 'bt-setnull' } })
    await t.base.post.create({ data: { title: 'bt-sn', authorId: u.id, categoryId: c.id } })
    expect(await t.prisma.post.findMany({ where: { categoryId: c.id } })).toHaveLength(1)
    expect(await t.prisma.post.count({ where: { categoryId: null, authorId: u.id } })).toBe(0)
    await t.prisma.$transaction([t.prisma.category.delete({ where: { id: c.id } })])
    expect(await t.prisma.post.findMany({ where: { categoryId: c.id } })).toEqual([])
    expect(await t.prisma.post.count({ where: { categoryId: null, authorId: u.id } })).toBe(1)
  })

  it('update of a referenced key: ON UPDATE CASCADE children are invalidated', async () => {
    await t.base.locale.create({ data: { code: 'bt-en', name: 'English', labels: { create: [{ text: 'hello' }] } } })
    expect(await t.prisma.label.findMany({ where: { localeCode: 'bt-en' } })).toHaveLength(1)
    expect(await t.prisma.label.findMany({ where: { localeCode: 'bt-en-GB' } })).toEqual([])
    await t.prisma.$transaction([t.prisma.locale.update({ where: { code: 'bt-en' }, data: { code: 'bt-en-GB' } })])
    expect(await t.prisma.label.findMany({ where: { localeCode: 'bt-en' } })).toEqual([])
    expect(await t.prisma.label.findMany({ where: { localeCode: 'bt-en-GB' } })).toHaveLength(1)
  })

  it('a cascade two levels down from a re-keyed key (Org.id → OrgSettings.orgId → Doc.orgId)', async () => {
    const org = await orgTree('bt-rekey2')
    const docs = () => t.prisma.doc.findMany({ where: { orgId: org }, orderBy: { id: 'asc' } })
    expect(await docs()).toHaveLength(2)
    await t.prisma.$transaction([t.prisma.org.update({ where: { id: org }, data: { id: org + 100_000 } })])
    expect(await docs()).toEqual([])
    expect(await t.prisma.doc.findMany({ where: { orgId: org + 100_000 } })).toHaveLength(2)
  })
})

describe('a nested write reaching one model at two depths', () => {
  it('create: the grandchild is invalidated too', async () => {
    const gc = () => t.prisma.team.findMany({ where: { name: 'nd-gc' } })
    expect(await gc()).toEqual([])
    await t.prisma.team.create({ data: { name: 'nd-p', children: { create: { name: 'nd-c', children: { create: { name: 'nd-gc' } } } } } })
    expect(await gc()).toHaveLength(1)
  })

  it('update: a grandchild created through a child is invalidated too', async () => {
    const parent = await t.base.team.create({ data: { name: 'nu-p' } })
    const gc = () => t.prisma.team.findMany({ where: { name: 'nu-gc' } })
    const count = () => t.prisma.team.count({ where: { name: 'nu-c' } })
    expect(await gc()).toEqual([])
    expect(await count()).toBe(0)
    await t.prisma.team.update({ where: { id: parent.id }, data: { children: { create: { name: 'nu-c', children: { create: { name: 'nu-gc' } } } } } })
    expect(await gc()).toHaveLength(1)
    expect(await count()).toBe(1)
  })

  it('update: a grandchild changed through a child is invalidated', async () => {
    const parent = await t.base.team.create({ data: { name: 'nx-p', children: { create: { name: 'nx-c', children: { create: { name: 'nx-gc' } } } } } })
    const child = (await t.base.team.findFirst({ where: { parentId: parent.id } }))!
    const gc = () => t.prisma.team.findMany({ where: { name: 'nx-gc2' } })
    expect(await gc()).toEqual([])
    await t.prisma.team.update({
      where: { id: parent.id },
      data: { children: { update: { where: { id: child.id }, data: { children: { updateMany: { where: {}, data: { name: 'nx-gc2' } } } } } } },
    })
    expect(await gc()).toHaveLength(1)
  })
})

describe('models without @id (identified by a @@unique)', () => {
  let room1: number
  let room2: number
  beforeAll(async () => {
    room1 = (await t.base.room.create({ data: { name: 'r1' } })).id
    room2 = (await t.base.room.create({ data: { name: 'r2' } })).id
  })
  beforeEach(async () => {
    await t.base.booking.deleteMany({})
    await t.base.booking.createMany({ data: [9, 10, 11, 12].map((hour) => ({ roomId: room1, hour, note: `h${hour}` })) })
  })

  it('deleteMany invalidates count() and aggregate()', async () => {
    expect(await t.prisma.booking.count()).toBe(4)
    expect((await t.prisma.booking.aggregate({ _sum: { hour: true } }))._sum.hour).toBe(42)
    await t.prisma.booking.deleteMany({ where: { hour: { lt: 11 } } })
    expect(await t.prisma.booking.count()).toBe(2)
    expect((await t.prisma.booking.aggregate({ _sum: { hour: true } }))._sum.hour).toBe(23)
  })

  it('updateMany invalidates count() and aggregate()', async () => {
    expect(await t.prisma.booking.count({ where: { note: 'x' } })).toBe(0)
    expect((await t.prisma.booking.aggregate({ _sum: { hour: true } }))._sum.hour).toBe(42)
    await t.prisma.booking.updateMany({ where: { hour: { gte: 11 } }, data: { note: 'x', hour: { increment: 10 } } })
    expect(await t.prisma.booking.count({ where: { note: 'x' } })).toBe(2)
    expect((await t.prisma.booking.aggregate({ _sum: { hour: true } }))._sum.hour).toBe(62)
  })

  it('an update that connects another relation moves the unique key: both keys are invalidated', async () => {
    const at = (roomId: number) => () => t.prisma.booking.findUnique({ where: { roomId_hour: { roomId, hour: 9 } } })
    expect(await at(room2)()).toBeNull()
    expect(await at(room1)()).not.toBeNull()
    await t.prisma.booking.update({ where: { roomId_hour: { roomId: room1, hour: 9 } }, data: { room: { connect: { id: room2 } } } })
    expect(await at(room1)()).toBeNull()
    expect(await at(room2)()).toMatchObject({ roomId: room2, hour: 9 })
  })

  it('nested writes through the parent reach rows without ids', async () => {
    const of = () => t.prisma.booking.findMany({ where: { roomId: room1 }, orderBy: { hour: 'asc' } })
    expect(await of()).toHaveLength(4)
    await t.prisma.room.update({ where: { id: room1 }, data: { bookings: { deleteMany: { hour: { gt: 10 } } } } })
    expect(await of()).toHaveLength(2)
    await t.prisma.room.update({ where: { id: room1 }, data: { bookings: { update: { where: { roomId_hour: { roomId: room1, hour: 9 } }, data: { hour: 20 } } } } })
    expect((await of()).map((b) => b.hour)).toEqual([10, 20])
  })
})

describe('a foreign key changed through connect that the database cascades', () => {
  it('OrgSettings.orgId moved by connect: Doc.orgId follows (ON UPDATE CASCADE)', async () => {
    const org = await orgTree('cc-1')
    const other = await t.base.org.create({ data: { name: 'cc-2' } })
    const settings = (await t.base.orgSettings.findUnique({ where: { orgId: org } }))!
    const docs = () => t.prisma.doc.findMany({ orderBy: { id: 'asc' }, where: { title: { startsWith: 'cc-1' } } })
    expect((await docs()).map((d) => d.orgId)).toEqual([org, org])
    expect(await t.prisma.doc.count({ where: { orgId: other.id } })).toBe(0)
    await t.prisma.orgSettings.update({ where: { id: settings.id }, data: { org: { connect: { id: other.id } } } })
    expect((await docs()).map((d) => d.orgId)).toEqual([other.id, other.id])
    expect(await t.prisma.doc.count({ where: { orgId: other.id } })).toBe(2)
  })

  it('the same through disconnect-free create of the referenced row', async () => {
    const org = await orgTree('cc-3')
    const settings = (await t.base.orgSettings.findUnique({ where: { orgId: org } }))!
    const docs = () => t.prisma.doc.findMany({ where: { title: { startsWith: 'cc-3' } } })
    expect((await docs()).map((d) => d.orgId)).toEqual([org, org])
    const updated = await t.prisma.orgSettings.update({ where: { id: settings.id }, data: { org: { create: { name: 'cc-4' } } } })
    expect((await docs()).map((d) => d.orgId)).toEqual([updated.orgId, updated.orgId])
  })
})

describe('a failing nested write inside an interactive transaction', () => {
  it('reaches the caller with Prisma’s own error, and the write runs once', async () => {
    const u = await t.base.user.create({ data: { email: 'nf@x.io' } })
    const p = await t.base.post.create({ data: { title: 'nf', authorId: u.id } })
    // Cached schemes on the fields the failed attempt changes inside the transaction (the
    // category's key): a retry would see the row changed and take it for a lost race.
    await t.prisma.post.findMany({ where: { authorId: u.id } })
    await t.prisma.post.findMany({ where: { categoryId: null } })
    const plain = await t.base
      .$transaction(async (tx) => {
        await tx.post.update({
          where: { id: p.id },
          data: { category: { create: { title: 'nf-cat-plain' } }, author: { update: { where: { email: 'nobody@x.io' }, data: { name: 'x' } } } },
        })
      })
      .catch((e: unknown) => e)
    const err = await t.prisma
      .$transaction(async (tx) => {
        await tx.post.update({
          where: { id: p.id },
          data: { category: { create: { title: 'nf-cat' } }, author: { update: { where: { email: 'nobody@x.io' }, data: { name: 'x' } } } },
        })
      })
      .catch((e: unknown) => e)
    expect(plain).toMatchObject({ code: 'P2025' })
    expect(err).toMatchObject({ code: (plain as { code: string }).code })
    expect(await t.base.category.count({ where: { title: { startsWith: 'nf-cat' } } })).toBe(0)
  })
})

describe('a fluent call on a nested write', () => {
  it('reads no related rows through the fluent result: the nested rows are still invalidated', async () => {
    // The profile's id differs from the user's: a read "through the parent" by the fluent
    // result's id would look at another user (or none).
    await t.base.user.create({ data: { email: 'fl-other@x.io' } })
    const u = await t.base.user.create({ data: { email: 'fl@x.io' } })
    await t.base.profile.create({ data: { bio: 'fl', userId: u.id } })
    const posts = () => t.prisma.post.findMany({ where: { authorId: u.id } })
    expect(await posts()).toEqual([])
    const profile = await t.prisma.user.update({ where: { id: u.id }, data: { posts: { create: { title: 'fl-post' } } } }).profile()
    expect(profile?.userId).toBe(u.id)
    expect((await posts()).map((p) => p.title)).toEqual(['fl-post'])
  })
})
