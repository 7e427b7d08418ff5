// Write shapes from an adversarial review of the write path (nested writes at depth, self-
// relations, models without @id, keys reached through relations, referential actions into
// the parent row, createMany with foreign keys): each test caches reads through the cache,
// writes through it, and compares the same reads with plain Prisma.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { freshDatabase, testClient, type TestClient } from './helpers.ts'

let t: TestClient
let n = 0
const uniq = (s: string) => `${s}-${++n}`

beforeAll(async () => {
  t = testClient(await freshDatabase('write_shapes'))
})
beforeEach(async () => {
  await t.prisma.$cacheops.invalidateAll()
})
afterAll(async () => {
  await t.prisma.$cacheops.invalidateAll()
  await t.close()
})

// Reads are written against the plain client's types and run on both clients.
type P = TestClient['base']
type Read = (p: P) => Promise<unknown>
const text = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x))

/** Caches each read (twice through the cache) and returns a checker comparing with plain Prisma. */
async function prime(...reads: Read[]): Promise<() => Promise<void>> {
  const cached = t.prisma as unknown as P
  for (const r of reads) {
    await r(cached)
    await r(cached)
  }
  return async () => {
    for (const r of reads) expect(text(await r(cached))).toBe(text(await r(t.base)))
  }
}

describe('nested writes', () => {
  it('self-relation: connect a grandchild subtree under another parent (depth 2)', async () => {
    const a = await t.base.team.create({ data: { name: uniq('a') } })
    const b = await t.base.team.create({ data: { name: uniq('b'), parentId: a.id } })
    const c = await t.base.team.create({ data: { name: uniq('c'), parentId: b.id } })
    const x = await t.base.team.create({ data: { name: uniq('x') } })
    const check = await prime(
      (p) => p.team.findUnique({ where: { id: a.id }, include: { children: { include: { children: true } } } }),
      (p) => p.team.findUnique({ where: { id: x.id }, include: { children: true, _count: true } }),
      (p) => p.team.findMany({ where: { parentId: b.id }, orderBy: { id: 'asc' } }),
      (p) => p.team.count({ where: { parentId: x.id } }),
    )
    await t.prisma.team.update({ where: { id: a.id }, data: { children: { update: { where: { id: b.id }, data: { children: { disconnect: { id: c.id } } } } } } })
    await t.prisma.team.update({ where: { id: x.id }, data: { children: { connect: { id: c.id } } } })
    await check()
  })

  it('self-relation: nested delete deep cascades subtree', async () => {
    const a = await t.base.team.create({ data: { name: uniq('a') } })
    const b = await t.base.team.create({ data: { name: uniq('b'), parentId: a.id } })
    const c = await t.base.team.create({ data: { name: uniq('c'), parentId: b.id } })
    await t.base.team.create({ data: { name: uniq('d'), parentId: c.id } })
    const check = await prime(
      (p) => p.team.findMany({ where: { parentId: c.id } }),
      (p) => p.team.count(),
      (p) => p.team.findUnique({ where: { id: a.id }, include: { children: { include: { children: { include: { children: true } } } } } }),
    )
    await t.prisma.team.update({ where: { id: a.id }, data: { children: { update: { where: { id: b.id }, data: { children: { delete: { id: c.id } } } } } } })
    await check()
  })

  it('one-to-one: Org.settings upsert/update/delete, OrgSettings.org connect', async () => {
    const o1 = await t.base.org.create({ data: { name: uniq('o1') } })
    const o2 = await t.base.org.create({ data: { name: uniq('o2') } })
    const s = await t.base.orgSettings.create({ data: { orgId: o1.id, docs: { create: [{ title: 'd1' }] } } })
    const check = await prime(
      (p) => p.org.findUnique({ where: { id: o1.id }, include: { settings: { include: { docs: true } } } }),
      (p) => p.org.findUnique({ where: { id: o2.id }, include: { settings: { include: { docs: true } } } }),
      (p) => p.doc.findMany({ where: { orgId: o1.id } }),
      (p) => p.doc.findMany({ where: { orgId: o2.id } }),
      (p) => p.doc.findMany({ include: { settings: true }, orderBy: { id: 'asc' } }),
    )
    await t.prisma.orgSettings.update({ where: { id: s.id }, data: { org: { connect: { id: o2.id } } } })
    await check()
    await t.prisma.org.update({ where: { id: o2.id }, data: { settings: { update: { theme: 'dark', docs: { create: { title: 'd2' } } } } } })
    await check()
    await t.prisma.org.update({ where: { id: o2.id }, data: { settings: { delete: true } } })
    await check()
  })

  it('OrgProfile (PK is FK): upsert through Org, then Org.id changed via nested update from profile', async () => {
    const o = await t.base.org.create({ data: { name: uniq('o') } })
    const check = await prime(
      (p) => p.orgProfile.findUnique({ where: { orgId: o.id } }),
      (p) => p.orgProfile.findUnique({ where: { orgId: o.id + 500000 } }),
      (p) => p.org.findUnique({ where: { id: o.id }, include: { profile: true } }),
      (p) => p.org.findUnique({ where: { id: o.id + 500000 }, include: { profile: true } }),
      (p) => p.orgProfile.findMany({ include: { org: true } }),
    )
    await t.prisma.org.update({ where: { id: o.id }, data: { profile: { upsert: { create: { bio: 'b' }, update: { bio: 'c' } } } } })
    await check()
    await t.prisma.orgProfile.update({ where: { orgId: o.id }, data: { org: { update: { id: o.id + 500000 } } } })
    await check()
  })

  it('Booking (no @id): connect between rooms, nested upsert and deleteMany', async () => {
    const r1 = await t.base.room.create({ data: { name: uniq('r1'), bookings: { create: [{ hour: 1, note: 'a' }, { hour: 2, note: 'b' }] } } })
    const r2 = await t.base.room.create({ data: { name: uniq('r2') } })
    const check = await prime(
      (p) => p.booking.findMany({ where: { roomId: r1.id }, orderBy: { hour: 'asc' } }),
      (p) => p.booking.findMany({ where: { roomId: r2.id }, orderBy: { hour: 'asc' } }),
      (p) => p.room.findMany({ where: { id: { in: [r1.id, r2.id] } }, include: { bookings: { orderBy: { hour: 'asc' } }, _count: true }, orderBy: { id: 'asc' } }),
      (p) => p.booking.findUnique({ where: { roomId_hour: { roomId: r2.id, hour: 1 } } }),
      (p) => p.booking.count({ where: { note: 'z' } }),
    )
    await t.prisma.room.update({ where: { id: r2.id }, data: { bookings: { connect: { roomId_hour: { roomId: r1.id, hour: 1 } } } } })
    await check()
    await t.prisma.room.update({ where: { id: r2.id }, data: { bookings: { upsert: { where: { roomId_hour: { roomId: r2.id, hour: 1 } }, create: { hour: 1, note: 'n' }, update: { note: 'z' } } } } })
    await check()
    await t.prisma.room.update({ where: { id: r1.id }, data: { bookings: { deleteMany: {} } } })
    await check()
  })

  it('Membership compound FK: nested create/connect/delete through Group and User', async () => {
    const tenant = uniq('t')
    const u = await t.base.user.create({ data: { email: `${uniq('m')}@x.io` } })
    await t.base.group.create({ data: { tenant, slug: 'g1', name: 'G1' } })
    await t.base.group.create({ data: { tenant, slug: 'g2', name: 'G2' } })
    const check = await prime(
      (p) => p.membership.findMany({ where: { tenant, slug: 'g1' } }),
      (p) => p.group.findMany({ where: { tenant }, include: { members: true, _count: true }, orderBy: { slug: 'asc' } }),
      (p) => p.user.findUnique({ where: { id: u.id }, include: { memberships: { include: { group: true } } } }),
    )
    await t.prisma.user.update({ where: { id: u.id }, data: { memberships: { create: { group: { connect: { tenant_slug: { tenant, slug: 'g1' } } } } } } })
    await check()
    await t.prisma.group.update({ where: { tenant_slug: { tenant, slug: 'g1' } }, data: { members: { update: { where: { userId_tenant_slug: { userId: u.id, tenant, slug: 'g1' } }, data: { level: 3 } } } } })
    await check()
    await t.prisma.group.update({ where: { tenant_slug: { tenant, slug: 'g1' } }, data: { slug: 'g3' } })
    await check()
  })

  it('implicit m2m: set/disconnect/connect tags, reads from both sides', async () => {
    const u = await t.base.user.create({ data: { email: `${uniq('mm')}@x.io` } })
    const t1 = await t.base.tag.create({ data: { name: uniq('t1') } })
    const t2 = await t.base.tag.create({ data: { name: uniq('t2') } })
    const p1 = await t.base.post.create({ data: { title: 'p1', authorId: u.id, tags: { connect: [{ id: t1.id }] } } })
    const check = await prime(
      (p) => p.tag.findMany({ where: { id: { in: [t1.id, t2.id] } }, include: { posts: true, _count: true }, orderBy: { id: 'asc' } }),
      (p) => p.post.findMany({ where: { authorId: u.id }, include: { tags: true } }),
      (p) => p.post.count({ where: { tags: { some: { id: t2.id } } } }),
      (p) => p.tag.findMany({ where: { posts: { some: { authorId: u.id } } }, orderBy: { id: 'asc' } }),
    )
    await t.prisma.post.update({ where: { id: p1.id }, data: { tags: { set: [{ id: t2.id }] } } })
    await check()
    await t.prisma.tag.update({ where: { id: t1.id }, data: { posts: { connect: { id: p1.id } } } })
    await check()
    await t.prisma.tag.delete({ where: { id: t2.id } })
    await check()
  })

  it('depth 3: user → posts → comments → author update (email)', async () => {
    const u1 = await t.base.user.create({ data: { email: `${uniq('d3a')}@x.io` } })
    const u2 = await t.base.user.create({ data: { email: `${uniq('d3b')}@x.io` } })
    const post = await t.base.post.create({ data: { title: 'p', authorId: u1.id } })
    const cm = await t.base.comment.create({ data: { body: 'c', postId: post.id, authorId: u2.id } })
    const newEmail = `${uniq('d3c')}@x.io`
    const check = await prime(
      (p) => p.user.findUnique({ where: { email: newEmail } }),
      (p) => p.user.findUnique({ where: { id: u2.id } }),
      (p) => p.comment.findMany({ where: { postId: post.id }, include: { author: true } }),
    )
    await t.prisma.user.update({ where: { id: u1.id }, data: { posts: { update: { where: { id: post.id }, data: { comments: { update: { where: { id: cm.id }, data: { author: { update: { email: newEmail } } } } } } } } } })
    await check()
  })

  it('nested createMany with FKs and a nested connectOrCreate', async () => {
    const u = await t.base.user.create({ data: { email: `${uniq('cm')}@x.io` } })
    const cat = await t.base.category.create({ data: { title: uniq('cat') } })
    const check = await prime(
      (p) => p.post.findMany({ where: { categoryId: cat.id } }),
      (p) => p.category.findUnique({ where: { id: cat.id }, include: { _count: true } }),
      (p) => p.user.findUnique({ where: { id: u.id }, include: { posts: true } }),
    )
    await t.prisma.category.update({ where: { id: cat.id }, data: { posts: { createMany: { data: [{ title: 'a', authorId: u.id }, { title: 'b', authorId: u.id }] } } } })
    await check()
    await t.prisma.user.update({ where: { id: u.id }, data: { posts: { connectOrCreate: { where: { authorId_title: { authorId: u.id, title: 'a' } }, create: { title: 'zz' } } } } })
    await check()
  })
})

describe('keys and cascades', () => {
  it('Locale.code changed by upsert, by connect from Label, and Label read with include', async () => {
    const code = uniq('lc')
    await t.base.locale.create({ data: { code, name: 'N', labels: { create: [{ text: 'a' }, { text: 'b' }] } } })
    await t.base.locale.create({ data: { code: `${code}-2`, name: 'N2' } })
    const check = await prime(
      (p) => p.label.findMany({ where: { localeCode: code }, orderBy: { id: 'asc' } }),
      (p) => p.label.findMany({ where: { localeCode: `${code}-9` }, orderBy: { id: 'asc' } }),
      (p) => p.locale.findMany({ where: { code: { startsWith: code } }, include: { labels: true, _count: true }, orderBy: { code: 'asc' } }),
      (p) => p.label.findMany({ where: { text: 'a' }, include: { locale: true } }),
    )
    await t.prisma.locale.upsert({ where: { code }, update: { code: `${code}-9` }, create: { code, name: 'x' } })
    await check()
    const l = await t.base.label.findFirst({ where: { localeCode: `${code}-9`, text: 'a' } })
    await t.prisma.label.update({ where: { id: l!.id }, data: { locale: { connect: { code: `${code}-2` } } } })
    await check()
  })

  it('OrgSettings.orgId changed via scalar set: Doc re-keyed two levels', async () => {
    const o1 = await t.base.org.create({ data: { name: uniq('o') } })
    const o2 = await t.base.org.create({ data: { name: uniq('o') } })
    const s = await t.base.orgSettings.create({ data: { orgId: o1.id, docs: { create: [{ title: 'a' }] } } })
    const check = await prime(
      (p) => p.doc.findMany({ where: { orgId: o1.id } }),
      (p) => p.doc.findMany({ where: { orgId: o2.id } }),
      (p) => p.orgSettings.findUnique({ where: { orgId: o2.id }, include: { docs: true } }),
      (p) => p.doc.count({ where: { orgId: o2.id } }),
    )
    await t.prisma.orgSettings.update({ where: { id: s.id }, data: { orgId: { set: o2.id } } })
    await check()
  })

  it('User.id change: posts, comments, profile, memberships re-keyed', async () => {
    const u = await t.base.user.create({ data: { email: `${uniq('uid')}@x.io`, profile: { create: { bio: 'b' } } } })
    const post = await t.base.post.create({ data: { title: 't', authorId: u.id } })
    await t.base.comment.create({ data: { body: 'c', postId: post.id, authorId: u.id } })
    const nid = u.id + 700000
    const check = await prime(
      (p) => p.post.findMany({ where: { authorId: nid } }),
      (p) => p.comment.findMany({ where: { authorId: nid } }),
      (p) => p.profile.findUnique({ where: { userId: nid } }),
      (p) => p.user.findUnique({ where: { id: nid }, include: { posts: true, profile: true, comments: true } }),
      (p) => p.comment.findMany({ where: { postId: post.id }, include: { author: true } }),
    )
    await t.prisma.user.update({ where: { id: u.id }, data: { id: nid } })
    await check()
  })

  it('delete in an interactive transaction and its rollback', async () => {
    const o = await t.base.org.create({ data: { name: uniq('o'), profile: { create: { bio: 'x' } } } })
    await t.base.orgSettings.create({ data: { orgId: o.id, docs: { create: [{ title: 'a' }] } } })
    const check = await prime(
      (p) => p.doc.findMany({ where: { orgId: o.id } }),
      (p) => p.orgProfile.findUnique({ where: { orgId: o.id } }),
      (p) => p.org.findUnique({ where: { id: o.id }, include: { settings: { include: { docs: true } }, profile: true } }),
    )
    await t.prisma.$transaction(async (tx) => {
      await tx.org.delete({ where: { id: o.id } })
      await check() // outside the transaction: nothing committed yet
    })
    await check()
  })

  it('single delete cascading two levels with a child moved in (sequential)', async () => {
    const u = await t.base.user.create({ data: { email: `${uniq('del')}@x.io` } })
    const v = await t.base.user.create({ data: { email: `${uniq('del')}@x.io` } })
    const post = await t.base.post.create({ data: { title: 'x', authorId: u.id } })
    await t.base.comment.create({ data: { body: 'c', postId: post.id, authorId: v.id } })
    const check = await prime(
      (p) => p.comment.findMany({ where: { authorId: v.id } }),
      (p) => p.user.findUnique({ where: { id: v.id }, include: { comments: { include: { post: true } } } }),
      (p) => p.post.count(),
    )
    await t.prisma.user.delete({ where: { id: u.id } })
    await check()
  })
})

describe('nested 2', () => {
  it('Booking identity change through nested updateMany; connectOrCreate create branch', async () => {
    const r = await t.base.room.create({ data: { name: uniq('r'), bookings: { create: [{ hour: 1, note: 'a' }, { hour: 2, note: 'b' }] } } })
    const check = await prime(
      (p) => p.booking.findUnique({ where: { roomId_hour: { roomId: r.id, hour: 11 } } }),
      (p) => p.booking.findMany({ where: { hour: 1 }, orderBy: { roomId: 'asc' } }),
      (p) => p.booking.findMany({ where: { roomId: r.id, hour: 5 } }),
    )
    await t.prisma.room.update({ where: { id: r.id }, data: { bookings: { updateMany: { where: { hour: 1 }, data: { hour: 11 } } } } })
    await check()
    await t.prisma.room.update({ where: { id: r.id }, data: { bookings: { connectOrCreate: { where: { roomId_hour: { roomId: r.id, hour: 5 } }, create: { hour: 5, note: 'c' } } } } })
    await check()
  })

  it('Category.posts disconnect / set from the category side', async () => {
    const u = await t.base.user.create({ data: { email: `${uniq('cd')}@x.io` } })
    const c = await t.base.category.create({ data: { title: uniq('c') } })
    const p1 = await t.base.post.create({ data: { title: 'a', authorId: u.id, categoryId: c.id } })
    const p2 = await t.base.post.create({ data: { title: 'b', authorId: u.id } })
    const check = await prime(
      (p) => p.post.findMany({ where: { categoryId: null, authorId: u.id }, orderBy: { id: 'asc' } }),
      (p) => p.post.count({ where: { categoryId: c.id } }),
      (p) => p.post.findMany({ where: { authorId: u.id }, include: { category: true }, orderBy: { id: 'asc' } }),
    )
    await t.prisma.category.update({ where: { id: c.id }, data: { posts: { disconnect: { id: p1.id } } } })
    await check()
    await t.prisma.category.update({ where: { id: c.id }, data: { posts: { set: [{ id: p2.id }] } } })
    await check()
  })

  it('nested upsert changing a referenced key (Org via OrgSettings.org upsert)', async () => {
    const o = await t.base.org.create({ data: { name: uniq('o') } })
    const s = await t.base.orgSettings.create({ data: { orgId: o.id, docs: { create: { title: 'd' } } } })
    const nid = o.id + 800000
    const check = await prime(
      (p) => p.doc.findMany({ where: { orgId: nid } }),
      (p) => p.orgSettings.findUnique({ where: { orgId: nid } }),
      (p) => p.org.findUnique({ where: { id: nid } }),
    )
    await t.prisma.orgSettings.update({ where: { id: s.id }, data: { org: { upsert: { create: { name: 'n' }, update: { id: nid } } } } })
    await check()
  })

  it('delete in a batch transaction with a nested upsert and a rolled back interactive transaction', async () => {
    const u = await t.base.user.create({ data: { email: `${uniq('bt')}@x.io`, profile: { create: { bio: 'x' } } } })
    const check = await prime(
      (p) => p.profile.findUnique({ where: { userId: u.id } }),
      (p) => p.user.findUnique({ where: { id: u.id }, include: { profile: true } }),
    )
    await t.prisma.$transaction([t.prisma.user.update({ where: { id: u.id }, data: { profile: { upsert: { create: { bio: 'n' }, update: { bio: 'u' } } } } })])
    await check()
    await t.prisma.$transaction(async (tx) => {
      await tx.profile.delete({ where: { userId: u.id } })
      throw new Error('rollback')
    }).catch(() => {})
    await check()
  })
})

describe('misc', () => {
  it('fluent write: post.update().author()', async () => {
    const u = await t.base.user.create({ data: { email: `${uniq('f')}@x.io` } })
    const post = await t.base.post.create({ data: { title: 'f', authorId: u.id } })
    const check = await prime(
      (p) => p.post.findMany({ where: { authorId: u.id, published: true } }),
      (p) => p.user.findUnique({ where: { id: u.id }, include: { posts: { where: { published: true } } } }),
    )
    await t.prisma.post.update({ where: { id: post.id }, data: { published: true } }).author()
    await check()
  })

  it('createMany / createManyAndReturn with FKs (Team, Booking)', async () => {
    const a = await t.base.team.create({ data: { name: uniq('a') } })
    const r = await t.base.room.create({ data: { name: uniq('r') } })
    const check = await prime(
      (p) => p.team.findUnique({ where: { id: a.id }, include: { children: true, _count: true } }),
      (p) => p.team.count({ where: { parentId: a.id } }),
      (p) => p.room.findUnique({ where: { id: r.id }, include: { bookings: true } }),
      (p) => p.booking.groupBy({ by: ['roomId'], _count: true, where: { roomId: r.id } }),
    )
    await t.prisma.team.createMany({ data: [{ name: 'x', parentId: a.id }, { name: 'y', parentId: a.id }] })
    await t.prisma.booking.createManyAndReturn({ data: [{ roomId: r.id, hour: 1, note: 'n' }] })
    await t.prisma.booking.createMany({ data: [{ roomId: r.id, hour: 2, note: 'n' }] })
    await check()
  })

  it('Document.id (cuid) change re-keys Recipient (@@id with FK); nested Recipient identity change', async () => {
    const d = await t.base.document.create({ data: { title: 'd', stages: ['DRAFT'], keywords: ['k'], recipients: { create: [{ email: 'a@x' }, { email: 'b@x' }] } } })
    const nid = `${d.id}-2`
    const check = await prime(
      (p) => p.recipient.findMany({ where: { documentId: d.id }, orderBy: { email: 'asc' } }),
      (p) => p.recipient.findMany({ where: { documentId: nid }, orderBy: { email: 'asc' } }),
      (p) => p.recipient.findUnique({ where: { documentId_email: { documentId: nid, email: 'c@x' } } }),
      (p) => p.document.findMany({ where: { keywords: { has: 'k2' } }, include: { recipients: true } }),
    )
    await t.prisma.document.update({ where: { id: d.id }, data: { id: nid } })
    await check()
    await t.prisma.document.update({ where: { id: nid }, data: { keywords: { push: 'k2' }, recipients: { update: { where: { documentId_email: { documentId: nid, email: 'a@x' } }, data: { email: 'c@x', signed: true } } } } })
    await check()
  })

  it('key change plus nested create under the same relation (Locale.code + labels.create)', async () => {
    const code = uniq('lk')
    await t.base.locale.create({ data: { code, name: 'n', labels: { create: { text: 'a' } } } })
    const check = await prime(
      (p) => p.label.findMany({ where: { localeCode: code } }),
      (p) => p.label.findMany({ where: { localeCode: `${code}-x` }, orderBy: { id: 'asc' } }),
      (p) => p.label.groupBy({ by: ['localeCode'], _count: true, where: { localeCode: { in: [code, `${code}-x`] } }, orderBy: { localeCode: 'asc' } }),
    )
    await t.prisma.locale.update({ where: { code }, data: { code: `${code}-x`, labels: { create: { text: 'b' } } } })
    await check()
  })

  it('Team.id change with a nested child update', async () => {
    const a = await t.base.team.create({ data: { name: uniq('a') } })
    const b = await t.base.team.create({ data: { name: uniq('b'), parentId: a.id } })
    const nid = a.id + 900000
    const check = await prime(
      (p) => p.team.findMany({ where: { parentId: a.id } }),
      (p) => p.team.findMany({ where: { parentId: nid } }),
      (p) => p.team.findUnique({ where: { id: b.id }, include: { parent: true } }),
    )
    await t.prisma.team.update({ where: { id: a.id }, data: { id: nid, children: { update: { where: { id: b.id }, data: { name: 'renamed' } } } } })
    await check()
  })

  it('unchecked nested update re-keys siblings: doc.update({ settings: { update: { orgId } } })', async () => {
    const o1 = await t.base.org.create({ data: { name: uniq('o') } })
    const o2 = await t.base.org.create({ data: { name: uniq('o') } })
    await t.base.orgSettings.create({ data: { orgId: o1.id, docs: { create: [{ title: 'a' }, { title: 'b' }] } } })
    const d = await t.base.doc.findFirst({ where: { orgId: o1.id, title: 'a' } })
    const check = await prime(
      (p) => p.doc.findMany({ where: { orgId: o1.id }, orderBy: { id: 'asc' } }),
      (p) => p.doc.findMany({ where: { orgId: o2.id }, orderBy: { id: 'asc' } }),
      (p) => p.org.findUnique({ where: { id: o2.id }, include: { settings: { include: { docs: true } } } }),
    )
    await t.prisma.doc.update({ where: { id: d!.id }, data: { settings: { update: { orgId: o2.id } } } })
    await check()
  })

  it('updateManyAndReturn (Boolean) and updateMany of an FK', async () => {
    const u = await t.base.user.create({ data: { email: `${uniq('um')}@x.io` } })
    const c = await t.base.category.create({ data: { title: uniq('c') } })
    await t.base.post.create({ data: { title: 'a', authorId: u.id } })
    const check = await prime(
      (p) => p.user.findUnique({ where: { id: u.id }, include: { posts: { where: { published: true } } } }),
      (p) => p.post.count({ where: { authorId: u.id, published: true } }),
      (p) => p.category.findUnique({ where: { id: c.id }, include: { posts: true } }),
      (p) => p.post.aggregate({ where: { categoryId: c.id }, _count: true }),
    )
    await t.prisma.post.updateManyAndReturn({ where: { authorId: u.id }, data: { published: true } })
    await check()
    await t.prisma.post.updateMany({ where: { authorId: u.id }, data: { categoryId: c.id } })
    await check()
  })

  it('upsert taking its create branch with nested connect; then its update branch moving the row', async () => {
    const u = await t.base.user.create({ data: { email: `${uniq('up')}@x.io` } })
    const v = await t.base.user.create({ data: { email: `${uniq('up')}@x.io` } })
    const post = await t.base.post.create({ data: { title: 'mv', authorId: v.id } })
    const email = `${uniq('up')}@x.io`
    const check = await prime(
      (p) => p.post.findMany({ where: { authorId: v.id } }),
      (p) => p.user.findUnique({ where: { email }, include: { posts: true } }),
      (p) => p.user.findMany({ where: { id: { in: [u.id, v.id] } }, include: { _count: true }, orderBy: { id: 'asc' } }),
    )
    await t.prisma.user.upsert({ where: { email }, create: { email, posts: { connect: { id: post.id } } }, update: {} })
    await check()
    await t.prisma.post.upsert({ where: { id: post.id }, create: { title: 'z', authorId: u.id }, update: { author: { connect: { id: u.id } } } })
    await check()
  })

  it('raw SQL on the implicit join table and on a mapped table', async () => {
    const u = await t.base.user.create({ data: { email: `${uniq('raw')}@x.io` } })
    const tag = await t.base.tag.create({ data: { name: uniq('raw') } })
    const post = await t.base.post.create({ data: { title: 'r', authorId: u.id } })
    const tenant = uniq('rt')
    await t.base.group.create({ data: { tenant, slug: 's', name: 'old' } })
    const check = await prime(
      (p) => p.post.findUnique({ where: { id: post.id }, include: { tags: true } }),
      (p) => p.tag.findUnique({ where: { id: tag.id }, include: { _count: true } }),
      (p) => p.group.findMany({ where: { tenant } }),
    )
    await t.prisma.$executeRawUnsafe(`INSERT INTO "_PostToTag" ("A", "B") VALUES ($1, $2)`, post.id, tag.id)
    await t.prisma.$executeRaw`UPDATE groups SET display_name = 'new' WHERE tenant = ${tenant}`
    await check()
  })
})

describe('nested update cascading into the parent row', () => {
  it('label.update({ locale: { update: { code } } }) with a cached read keyed on Label.localeCode', async () => {
    await t.base.locale.create({ data: { code: 'cas-a', name: 'A', labels: { create: [{ text: 'x' }] } } })
    await t.base.locale.create({ data: { code: 'cas-b', name: 'B', labels: { create: [{ text: 'x' }] } } })
    const la = (await t.base.label.findFirst({ where: { localeCode: 'cas-a' } }))!
    const lb = (await t.base.label.findFirst({ where: { localeCode: 'cas-b' } }))!
    // Plain Prisma: succeeds.
    await t.base.label.update({ where: { id: lb.id }, data: { locale: { update: { code: 'cas-b2' } } } })
    expect((await t.base.label.findUnique({ where: { id: lb.id } }))!.localeCode).toBe('cas-b2')
    // Through the cache, with a cached read keyed on localeCode:
    await t.prisma.label.findMany({ where: { localeCode: 'cas-a' } })
    await t.prisma.label.update({ where: { id: la.id }, data: { locale: { update: { code: 'cas-a2' } } } })
    expect((await t.base.label.findUnique({ where: { id: la.id } }))!.localeCode).toBe('cas-a2')
  })

  it('team.update({ parent: { update: { id } } }) with a cached read keyed on Team.parentId', async () => {
    const p = await t.base.team.create({ data: { name: 'p', children: { create: { name: 'c' } } } })
    const c = (await t.base.team.findFirst({ where: { parentId: p.id } }))!
    await t.prisma.team.findMany({ where: { parentId: p.id } })
    await t.prisma.team.update({ where: { id: c.id }, data: { parent: { update: { id: p.id + 1000 } } } })
    expect((await t.base.team.findUnique({ where: { id: c.id } }))!.parentId).toBe(p.id + 1000)
  })
})
