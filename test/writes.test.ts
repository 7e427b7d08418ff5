import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { countSql, freshDatabase, pauseFirst, recordCommands, REDIS_URL, servedFromCache, testClient, type TestClient } from './helpers.ts'
import { describeRedis } from './stores.ts'

let t: TestClient
let dbUrl: string
let a: number
let b: number
let c: number

const cached = (read: () => Promise<unknown>) => servedFromCache(t, read)

beforeAll(async () => {
  dbUrl = await freshDatabase('writes')
  t = testClient(dbUrl)
  a = (await t.base.user.create({ data: { email: 'a@w.io' } })).id
  b = (await t.base.user.create({ data: { email: 'b@w.io' } })).id
  c = (await t.base.user.create({ data: { email: 'c@w.io' } })).id
})
beforeEach(async () => {
  await t.prisma.$cacheops.invalidateAll()
})
afterAll(async () => {
  await t.prisma.$cacheops.invalidateAll()
  await t.close()
})

const byAuthor = (id: number) => () => t.prisma.post.findMany({ where: { authorId: id }, orderBy: { id: 'asc' } })

describe('single-row writes invalidate granularly', () => {
  it('update: drops queries the row matched before or after, keeps the rest', async () => {
    const post = await t.base.post.create({ data: { title: 'moving', authorId: a } })
    for (const id of [a, b, c]) await byAuthor(id)()
    const byTitle = () => t.prisma.post.findFirst({ where: { title: 'moving' } })
    const otherTitle = () => t.prisma.post.findFirst({ where: { title: 'unrelated' } })
    await byTitle()
    await otherTitle()
    expect(await cached(byAuthor(a))).toBe(true)

    await t.prisma.post.update({ where: { id: post.id }, data: { authorId: c } })

    expect(await cached(byAuthor(b))).toBe(true) // never matched post 1
    expect(await cached(otherTitle)).toBe(true)
    expect(await cached(byTitle)).toBe(false) // matched before and after
    const [fromA, fromC] = [await byAuthor(a)(), await byAuthor(c)()]
    expect(fromA.some((p) => p.id === post.id)).toBe(false) // matched before
    expect(fromC.some((p) => p.id === post.id)).toBe(true) // matches after
  })

  it('update with a narrow select still invalidates by every field and returns only the selection', async () => {
    const post = await t.base.post.create({ data: { title: 'narrow', authorId: a, published: false } })
    const published = () => t.prisma.post.findMany({ where: { published: true, authorId: a } })
    await published()
    const res = await t.prisma.post.update({ where: { id: post.id }, data: { published: true }, select: { id: true } })
    expect(res).toEqual({ id: post.id })
    expect(await cached(published)).toBe(false)
    expect((await published()).map((p) => p.id)).toContain(post.id)
    const omitted = await t.prisma.post.update({ where: { id: post.id }, data: { views: 3 }, omit: { title: true } })
    expect('title' in omitted).toBe(false)
  })

  it('create: drops queries the new row matches, keeps the rest', async () => {
    await byAuthor(a)()
    await byAuthor(b)()
    await t.prisma.post.create({ data: { title: 'new for b', authorId: b } })
    expect(await cached(byAuthor(a))).toBe(true)
    expect((await countSql(t, byAuthor(b))).value.map((p) => p.title)).toContain('new for b')
  })

  it('delete: drops queries the old row matched, keeps the rest', async () => {
    const post = await t.base.post.create({ data: { title: 'doomed', authorId: b } })
    await byAuthor(a)()
    await byAuthor(b)()
    await t.prisma.post.delete({ where: { id: post.id } })
    expect(await cached(byAuthor(a))).toBe(true)
    expect((await byAuthor(b)()).some((p) => p.id === post.id)).toBe(false)
  })

  it('upsert: both the create and the update branch invalidate', async () => {
    const read = () => t.prisma.setting.findUnique({ where: { key: 'theme' } })
    expect(await read()).toBeNull()
    await t.prisma.setting.upsert({ where: { key: 'theme' }, create: { key: 'theme', value: 'dark' }, update: { value: 'x' } })
    expect((await read())?.value).toBe('dark')
    const byValue = () => t.prisma.setting.findMany({ where: { value: 'dark' } })
    expect(await byValue()).toHaveLength(1)
    await t.prisma.setting.upsert({ where: { key: 'theme' }, create: { key: 'theme', value: 'y' }, update: { value: 'light' } })
    expect((await read())?.value).toBe('light')
    expect(await byValue()).toHaveLength(0) // matched only before the update
  })

  it('upsert runs as given, natively like plain Prisma: the same sequence values consumed', async () => {
    const u = await t.base.user.create({ data: { email: 'native@w.io' } })
    expect(await t.prisma.user.findMany({ where: { name: 'native' } })).toEqual([]) // a cached read keyed on name
    const seq = async () => Number((await t.base.$queryRawUnsafe<{ v: bigint }[]>(`SELECT last_value AS v FROM "User_id_seq"`))[0]!.v)
    const upsert = (p: typeof t.prisma | typeof t.base, name: string) => p.user.upsert({ where: { email: 'native@w.io' }, create: { email: 'native@w.io' }, update: { name } })
    const s0 = await seq()
    await upsert(t.base, 'plain') // INSERT ... ON CONFLICT: a sequence value is drawn even though it updates
    const plainDrew = (await seq()) - s0
    const s1 = await seq()
    await upsert(t.prisma, 'native')
    expect((await seq()) - s1).toBe(plainDrew)
    expect((await t.prisma.user.findMany({ where: { name: 'native' } })).map((x) => x.id)).toEqual([u.id])
  })

  it('upsert racing an update of a keyed field still updates the row its where names (no second row)', async () => {
    const org = await t.base.org.create({ data: { name: 'ur' } })
    await t.base.orgSettings.create({ data: { orgId: org.id } })
    const doc = await t.base.doc.create({ data: { title: 'v1', orgId: org.id } })
    const byTitle = (title: string) => t.prisma.doc.findMany({ where: { title } })
    expect(await byTitle('v1')).toHaveLength(1) // cached: the upsert's pre-image reads title
    const writer = pauseFirst(t, 'doc', 'upsert', 'before')
    const upsert = writer.client.doc.upsert({ where: { id: doc.id }, update: { title: 'v3' }, create: { title: 'v3', orgId: org.id } }).then((r) => r)
    await writer.paused // pre-image read (v1), the upsert not yet sent
    await t.prisma.doc.update({ where: { id: doc.id }, data: { title: 'v2' } })
    expect(await byTitle('v2')).toHaveLength(1) // read while the upsert's guard is up: not stored
    writer.release()
    expect((await upsert).id).toBe(doc.id)
    const docs = await t.base.doc.findMany({ where: { orgId: org.id } })
    expect(docs.map((d) => [d.id, d.title])).toEqual([[doc.id, 'v3']])
    expect(await byTitle('v2')).toEqual([])
    expect(await byTitle('v1')).toEqual([])
    expect((await byTitle('v3')).map((d) => d.id)).toEqual([doc.id])
  })

  it('a write that changes the primary key invalidates old and new key', async () => {
    const g = await t.base.group.create({ data: { tenant: 't1', slug: 'old', name: 'G' } })
    const oldRead = () => t.prisma.group.findUnique({ where: { tenant_slug: { tenant: 't1', slug: 'old' } } })
    const newRead = () => t.prisma.group.findUnique({ where: { tenant_slug: { tenant: 't1', slug: 'new' } } })
    expect(await oldRead()).toMatchObject({ name: g.name })
    expect(await newRead()).toBeNull()
    await t.prisma.group.update({ where: { tenant_slug: { tenant: 't1', slug: 'old' } }, data: { slug: 'new' } })
    expect(await oldRead()).toBeNull()
    expect(await newRead()).toMatchObject({ slug: 'new' })
  })
})

describe('updates that change no field cached reads key on', () => {
  it('skip the pre-read (one SQL statement) and still invalidate what holds the row', async () => {
    const post = await t.base.post.create({ data: { title: 'views-only', authorId: a } })
    const one = () => t.prisma.post.findUnique({ where: { id: post.id } })
    await byAuthor(a)()
    await byAuthor(b)()
    await one()
    const plain = await countSql(t, () => t.base.post.update({ where: { id: post.id }, data: { views: 1 } }))
    const fast = await countSql(t, () => t.prisma.post.update({ where: { id: post.id }, data: { views: { increment: 1 } }, select: { id: true } }))
    expect(fast.sql).toBe(plain.sql)
    expect(fast.value).toEqual({ id: post.id }) // the fields added to read its image are stripped
    expect(await cached(byAuthor(b))).toBe(true)
    expect((await one())!.views).toBe(2)
    expect((await byAuthor(a)()).find((p) => p.id === post.id)!.views).toBe(2)
    // A field a cached read keys on (authorId) needs the row's old values first.
    const moving = await countSql(t, () => t.prisma.post.update({ where: { id: post.id }, data: { authorId: b } }))
    expect(moving.sql).toBe(plain.sql + 1)
    expect((await byAuthor(a)()).some((p) => p.id === post.id)).toBe(false)
  })

  it('invalidate the row where it is when they write, even if a concurrent writer just moved it', async () => {
    const post = await t.base.post.create({ data: { title: 'moved-meanwhile', authorId: a } })
    await byAuthor(a)()
    const { client, paused, release } = pauseFirst(t, 'post', 'update', 'before')
    const viewsUpdate = client.post.update({ where: { id: post.id }, data: { views: 42 } }).then((r) => r)
    await paused // the views update has asked Redis for the schemes, not yet written
    await t.prisma.post.update({ where: { id: post.id }, data: { authorId: b } })
    expect((await byAuthor(b)()).find((p) => p.id === post.id)!.views).toBe(0) // cached, pre-views
    release()
    await viewsUpdate
    expect((await byAuthor(b)()).find((p) => p.id === post.id)!.views).toBe(42)
    expect((await byAuthor(a)()).some((p) => p.id === post.id)).toBe(false)
  })
})

describe('updateManyAndReturn setting Booleans and enums, or fields no cached read keys on', () => {
  it('reads nothing first (the SQL of plain Prisma) and drops what its rows matched before or after', async () => {
    const x = await t.base.user.create({ data: { email: 'umr-x@w.io', posts: { create: [{ title: 'umr-1' }, { title: 'umr-2', published: true }] } } })
    const flagged = (published: boolean) => () => t.prisma.post.findMany({ where: { authorId: x.id, published }, orderBy: { id: 'asc' } })
    const bystander = () => t.prisma.post.findMany({ where: { authorId: b, published: false } })
    expect((await flagged(false)()).map((p) => p.title)).toEqual(['umr-1'])
    expect((await flagged(true)()).map((p) => p.title)).toEqual(['umr-2'])
    await bystander()
    const plain = await countSql(t, () => t.base.post.updateManyAndReturn({ where: { title: 'no-such-title' }, data: { published: true }, select: { id: true } }))
    const fast = await countSql(t, () => t.prisma.post.updateManyAndReturn({ where: { authorId: x.id }, data: { published: true }, select: { title: true } }))
    expect(fast.sql).toBe(plain.sql)
    expect(fast.value.map((p) => p).sort((p, q) => p.title.localeCompare(q.title))).toEqual([{ title: 'umr-1' }, { title: 'umr-2' }]) // added fields stripped
    // umr-1 left the published: false query (its prior value, which the write did not read).
    expect(await flagged(false)()).toEqual([])
    expect((await flagged(true)()).map((p) => p.title)).toEqual(['umr-1', 'umr-2'])
    expect(await cached(bystander)).toBe(true)
    // A counter and nothing keyed: the rows stay where they are, their entries go.
    await t.prisma.post.updateManyAndReturn({ where: { authorId: x.id }, data: { views: { increment: 5 } } })
    expect((await flagged(true)()).map((p) => p.views)).toEqual([5, 5])
    expect(await cached(bystander)).toBe(true)
    // A keyed field whose old values cannot be listed still reads them first.
    const moving = await countSql(t, () => t.prisma.post.updateManyAndReturn({ where: { authorId: x.id }, data: { authorId: c }, select: { id: true } }))
    expect(moving.sql).toBe(plain.sql + 1)
    expect(await flagged(true)()).toEqual([])
  })

  it('an enum: the rows leave the query for their old value, which was not read', async () => {
    const ids = await Promise.all(['umr-e1', 'umr-e2'].map(async (e) => (await t.base.user.create({ data: { email: `${e}@w.io` } })).id))
    const withRole = (role: 'USER' | 'ADMIN') => () => t.prisma.user.findMany({ where: { id: { in: ids }, role }, select: { id: true } })
    expect(await withRole('USER')()).toHaveLength(2)
    expect(await withRole('ADMIN')()).toEqual([])
    const plain = await countSql(t, () => t.base.user.updateManyAndReturn({ where: { id: -1 }, data: { role: 'ADMIN' } }))
    const fast = await countSql(t, () => t.prisma.user.updateManyAndReturn({ where: { id: { in: ids } }, data: { role: 'ADMIN' } }))
    expect(fast.sql).toBe(plain.sql)
    expect(await withRole('USER')()).toEqual([])
    expect(await withRole('ADMIN')()).toHaveLength(2)
  })

  it('more than 10,000 row images (rows times listed values) invalidate the model whole instead', async () => {
    const z = await t.base.user.create({ data: { email: 'umr-z@w.io' } })
    await t.base.post.createMany({ data: Array.from({ length: 5_001 }, (_, i) => ({ title: `umr-z${i}`, authorId: z.id })) })
    const bystander = () => t.prisma.post.findMany({ where: { authorId: b, published: false } })
    await bystander()
    await t.prisma.post.updateManyAndReturn({ where: { authorId: z.id, title: { not: 'umr-z0' } }, data: { published: true }, select: { id: true } }) // 5,000 rows: 10,000 images
    expect(await cached(bystander)).toBe(true)
    await t.prisma.post.updateManyAndReturn({ where: { authorId: z.id }, data: { published: false }, select: { id: true } }) // 5,001 rows
    expect(await cached(bystander)).toBe(false)
    await t.base.post.deleteMany({ where: { authorId: z.id } })
  })

  it('a row a concurrent write moves into the where clause comes back with the rest, and goes', async () => {
    const y = await t.base.user.create({ data: { email: 'umr-y@w.io', posts: { create: [{ title: 'umr-y1' }] } } })
    const phantom = await t.base.post.create({ data: { title: 'umr-phantom', authorId: c } })
    const unpublishedPhantom = () => t.prisma.post.findMany({ where: { title: 'umr-phantom', published: false } })
    expect(await unpublishedPhantom()).toHaveLength(1)
    const { client, paused, release } = pauseFirst(t, 'post', 'updateManyAndReturn', 'before')
    const update = client.post.updateManyAndReturn({ where: { authorId: y.id }, data: { published: true } }).then((r) => r)
    await paused
    await t.prisma.post.update({ where: { id: phantom.id }, data: { authorId: y.id } }) // enters the where
    expect(await unpublishedPhantom()).toHaveLength(1) // cached again, as it is before the update
    release()
    expect((await update).map((p) => p.title).sort()).toEqual(['umr-phantom', 'umr-y1'])
    expect(await unpublishedPhantom()).toEqual([])
  })
})

describe('data values the column stores otherwise (a Decimal rounded to its scale)', () => {
  // Where no row is read back, the data stands in for it: a rounded value must not.
  it('an updateMany keys its rows by the stored value, not the data', async () => {
    const u = await t.base.user.create({ data: { email: `dec-um-${Date.now()}@w.io`, balance: 5 } })
    const byBalance = () => t.prisma.user.findMany({ where: { balance: 1.23 }, select: { id: true } })
    expect(await byBalance()).toEqual([])
    await t.prisma.user.updateMany({ where: { id: u.id }, data: { balance: 1.234 } }) // stored as 1.23 (numeric(12,2))
    expect(await byBalance()).toEqual([{ id: u.id }])
  })

  it('a createMany reads its rows back instead of taking its data for them', async () => {
    const email = `dec-cm-${Date.now()}@w.io`
    const byBalance = () => t.prisma.user.findMany({ where: { balance: 2.35 }, select: { email: true } })
    expect(await byBalance()).toEqual([])
    await t.prisma.user.createMany({ data: [{ email, balance: 2.345 }] }) // stored as 2.35
    expect(await byBalance()).toEqual([{ email }])
  })
})

describeRedis('schemes known locally', () => {
  it('a write asks Redis for the schemes once, then only deletes keys and checks the registry version; a scheme new to it makes that write model-wide', async () => {
    const post = await t.base.post.create({ data: { title: 'schemes-local', authorId: a } })
    // The connection this process uses records what it sends.
    const conn = new Redis(REDIS_URL)
    const sent = recordCommands(conn)
    const mine = testClient(dbUrl, { redis: conn }) // a process of its own: knows no schemes yet
    const other = testClient(dbUrl, { prefix: mine.prefix })
    const commandsOf = async (write: () => Promise<unknown>) => {
      sent.length = 0
      await write()
      return [...sent]
    }
    const settle = () => new Promise((r) => setTimeout(r, 50)) // stores are sent in the background
    const update = (views: number) => () => mine.prisma.post.update({ where: { id: post.id }, data: { views } })
    // One round trip: the keys deleted, the registry version read beside them.
    const quick = ['del', 'hget']
    try {
      await other.prisma.post.findUnique({ where: { id: post.id } })
      await settle()
      expect(await commandsOf(update(1))).toEqual(['beginWrite', ...quick]) // the schemes and their version
      expect(await commandsOf(update(2))).toEqual(quick)
      // The other process registers a scheme this one has not seen (views): the next write
      // here skips its pre-read on stale knowledge, finds another version, and goes whole.
      const byViews = () => other.prisma.post.findMany({ where: { views: 987_653 } })
      expect(await byViews()).toEqual([])
      await settle()
      expect(await commandsOf(update(987_653))).toEqual([...quick, 'invalidateRows'])
      expect((await byViews()).map((p) => p.id)).toEqual([post.id])
      await settle()
      expect(await commandsOf(update(4))).toEqual(['beginWrite', ...quick]) // asks again
      expect(await commandsOf(update(5))).toEqual(quick)
      // Fresh reads (misses, so they register their schemes) of the id and views schemes.
      let probeValue = 1_000_000
      const register = async (schemes: ('id' | 'views')[]) => {
        for (const s of schemes) await other.prisma.post.findMany({ where: { [s]: probeValue++ } })
        await settle()
      }
      // Both schemes registered and, after at most one refresh, known here.
      await register(['id', 'views'])
      await update(6)()
      await register(['id', 'views'])
      await update(7)()
      await register(['id', 'views'])
      expect(await commandsOf(update(8))).toEqual(quick)
      // The registry is dropped (a model-wide invalidation) and rebuilt by reads of one
      // scheme only: this process's copy (id, views) is out of date once, not for good.
      await other.prisma.$cacheops.invalidateModel('Post')
      await register(['id'])
      expect(await commandsOf(update(9))).toEqual([...quick, 'invalidateRows']) // another version: the full script
      expect(await commandsOf(update(10))).toEqual(quick) // which told what the registry holds now
    } finally {
      await mine.close()
      await other.close()
      conn.disconnect()
    }
  })

  it("a scheme registered by a store (an include's related rows) is a new version too", async () => {
    const author = await t.base.user.create({ data: { email: `versions-${Date.now()}@x.io` } })
    const category = await t.base.category.create({ data: { title: `versions-${Date.now()}` } })
    const first = await t.base.post.create({ data: { title: 'versions-1', authorId: author.id, categoryId: category.id } })
    const conn = new Redis(REDIS_URL)
    const sent = recordCommands(conn)
    const mine = testClient(dbUrl, { redis: conn })
    const other = testClient(dbUrl, { prefix: mine.prefix })
    const settle = () => new Promise((r) => setTimeout(r, 50))
    try {
      // A read with an include registers, when it leases, the whole-model scheme of the
      // included model (its rows are not known yet); its store, the conjunction they fall
      // under (here categoryId).
      const ofCategory = () => other.prisma.category.findUnique({ where: { id: category.id }, include: { posts: true } })
      await ofCategory()
      await settle()
      // This process learns Post's registry version.
      await mine.prisma.post.update({ where: { id: first.id }, data: { views: 1 } })
      sent.length = 0
      await mine.prisma.post.update({ where: { id: first.id }, data: { views: 2 } })
      expect(sent).toEqual(['del', 'hget'])
      // The author with their posts: its lease registers nothing new for Post; its store,
      // the authorId conjunction, which this process has not seen.
      const withPosts = () => other.prisma.user.findUnique({ where: { id: author.id }, include: { posts: { orderBy: { id: 'asc' } } } })
      expect((await withPosts())!.posts.map((p) => p.title)).toEqual(['versions-1'])
      await settle()
      expect(await servedFromCache(other, withPosts)).toBe(true)
      // A new post of the author, keyed by the schemes this process knew: it must not pass
      // the version check.
      sent.length = 0
      await mine.prisma.post.create({ data: { title: 'versions-2', authorId: author.id } })
      expect(sent).toEqual(['del', 'hget', 'invalidateRows'])
      expect((await withPosts())!.posts.map((p) => p.title)).toEqual(['versions-1', 'versions-2'])
    } finally {
      await mine.close()
      await other.close()
      conn.disconnect()
    }
  })

})

describeRedis('created rows keyed by the writer', () => {
  it('a create keys its row by the schemes this process knows (no script); a scheme it does not know sends it to the full script, which tells it', async () => {
    // The connection this process uses records which scripts it runs.
    const conn = new Redis(REDIS_URL)
    const ran = recordCommands(conn)
    const mine = testClient(dbUrl, { redis: conn })
    const other = testClient(dbUrl, { prefix: mine.prefix })
    const settle = () => new Promise((r) => setTimeout(r, 50)) // stores are sent in the background
    const listOfA = () => other.prisma.post.findMany({ where: { authorId: a }, orderBy: { id: 'asc' } })
    try {
      const before = await listOfA() // registers its scheme
      await settle()
      // Knowing no schemes, the first create runs the full script, which tells them.
      ran.length = 0
      const first = await mine.prisma.post.create({ data: { title: 'keyed-1', authorId: a } })
      expect(ran).toEqual(['invalidateRows'])
      expect((await listOfA()).map((p) => p.id)).toEqual([...before.map((p) => p.id), first.id])
      await settle()
      ran.length = 0
      const second = await mine.prisma.post.create({ data: { title: 'keyed-2', authorId: a } })
      expect(ran).toEqual(['del', 'hget']) // its keys, and the registry version they go with
      expect((await listOfA()).map((p) => p.id)).toEqual([...before.map((p) => p.id), first.id, second.id])
      // Another process registers a scheme this one has not seen (title).
      const byTitle = () => other.prisma.post.findMany({ where: { title: 'keyed-3' } })
      expect(await byTitle()).toEqual([])
      await settle()
      ran.length = 0
      const third = await mine.prisma.post.create({ data: { title: 'keyed-3', authorId: a } })
      expect(ran).toEqual(['del', 'hget', 'invalidateRows']) // another version
      expect((await byTitle()).map((p) => p.id)).toEqual([third.id])
      // ... and learns it from the full script.
      ran.length = 0
      await mine.prisma.post.create({ data: { title: 'keyed-4', authorId: a } })
      expect(ran).toEqual(['del', 'hget'])
    } finally {
      await mine.close()
      await other.close()
      conn.disconnect()
    }
  })
})

describe('mass writes whose pre-read finds other rows than the write changes', () => {
  it('deleteMany with a relation filter Prisma evaluates differently in findMany: the count tells, the model goes whole', async () => {
    // Found by the differential tester: for this where, findMany finds no row (NULL avatar
    // under nested isNot) while deleteMany deletes one, so the pre-image was empty.
    const u = await t.base.user.create({ data: { email: 'isnot@w.io', big: 77n } })
    await t.base.profile.create({ data: { bio: 'x', userId: u.id } })
    const where = { email: 'isnot@w.io', profile: { isNot: { user: { isNot: { avatar: { not: Buffer.from('') } } } } } }
    expect(await t.base.user.findMany({ where, select: { id: true } })).toEqual([]) // Prisma's own findMany
    const read = (p: typeof t.prisma | typeof t.base) => p.user.aggregate({ where: { big: 77n }, _count: { _all: true } })
    expect((await read(t.prisma))._count._all).toBe(1)
    const { count } = await t.prisma.user.deleteMany({ where })
    expect(count).toBeGreaterThan(0)
    expect(await read(t.prisma)).toEqual(await read(t.base))
  })
})

describe('every other write is correct (model-wide where not yet granular)', () => {
  it('createMany, updateMany and deleteMany', async () => {
    await byAuthor(c)()
    await t.prisma.post.createMany({ data: [{ title: 'm1', authorId: c }, { title: 'm2', authorId: c }] })
    expect((await byAuthor(c)()).map((p) => p.title)).toEqual(expect.arrayContaining(['m1', 'm2']))
    await t.prisma.post.updateMany({ where: { title: { in: ['m1', 'm2'] } }, data: { published: true } })
    expect((await byAuthor(c)()).filter((p) => ['m1', 'm2'].includes(p.title)).map((p) => p.published)).toEqual([true, true])
    await t.prisma.post.deleteMany({ where: { title: { in: ['m1', 'm2'] }, authorId: c } })
    expect((await byAuthor(c)()).some((p) => p.title === 'm1')).toBe(false)
  })

  it('createManyAndReturn and updateManyAndReturn', async () => {
    const count = () => t.prisma.tag.count()
    const n = await count()
    await t.prisma.tag.createManyAndReturn({ data: [{ name: 'x1' }, { name: 'x2' }] })
    expect(await count()).toBe(n + 2)
    const named = () => t.prisma.tag.findMany({ where: { name: 'x9' } })
    expect(await named()).toEqual([])
    await t.prisma.tag.updateManyAndReturn({ where: { name: 'x1' }, data: { name: 'x9' } })
    expect(await named()).toHaveLength(1)
  })

  it('nested writes invalidate the related models', async () => {
    const posts = () => t.prisma.post.findMany({ where: { title: 'nested' } })
    expect(await posts()).toEqual([])
    await t.prisma.user.update({ where: { id: a }, data: { posts: { create: { title: 'nested' } } } })
    expect(await posts()).toHaveLength(1)
    const comments = () => t.prisma.comment.count()
    expect(await comments()).toBe(0)
    await t.prisma.user.create({
      data: { email: 'deep@w.io', posts: { create: { title: 'deep', comments: { create: { body: 'hi', authorId: a } } } } },
    })
    expect(await comments()).toBe(1)
  })

  it('many-to-many links through the implicit join table', async () => {
    const tag = await t.base.tag.create({ data: { name: 'm2m' } })
    const post = await t.base.post.create({ data: { title: 'tagged', authorId: a } })
    const tagWithPosts = () => t.prisma.tag.findUnique({ where: { id: tag.id }, include: { posts: true } })
    const postWithTags = () => t.prisma.post.findUnique({ where: { id: post.id }, include: { tags: true } })
    expect((await tagWithPosts())?.posts).toEqual([])
    expect((await postWithTags())?.tags).toEqual([])
    await t.prisma.post.update({ where: { id: post.id }, data: { tags: { connect: { id: tag.id } } } })
    expect((await tagWithPosts())?.posts.map((p) => p.id)).toEqual([post.id])
    expect((await postWithTags())?.tags.map((x) => x.id)).toEqual([tag.id])
    await t.prisma.tag.update({ where: { id: tag.id }, data: { posts: { disconnect: { id: post.id } } } })
    expect((await tagWithPosts())?.posts).toEqual([])
    expect((await postWithTags())?.tags).toEqual([])
  })

  it('database cascades (User → Post → Comment) and SET NULL', async () => {
    const u = await t.base.user.create({ data: { email: 'cascade@w.io' } })
    const cat = await t.base.category.create({ data: { title: 'doomed cat' } })
    const p = await t.base.post.create({ data: { title: 'casc', authorId: u.id, categoryId: cat.id } })
    await t.base.comment.create({ data: { body: 'c', postId: p.id, authorId: a } })
    await t.base.profile.create({ data: { bio: 'b', userId: u.id } })
    const inCat = () => t.prisma.post.findMany({ where: { categoryId: cat.id } })
    const uncategorized = () => t.prisma.post.count({ where: { categoryId: null, title: 'casc' } })
    expect(await inCat()).toHaveLength(1)
    expect(await uncategorized()).toBe(0)
    await t.prisma.category.delete({ where: { id: cat.id } })
    expect(await inCat()).toHaveLength(0)
    expect(await uncategorized()).toBe(1)

    const comments = () => t.prisma.comment.findMany({ where: { postId: p.id } })
    const profile = () => t.prisma.profile.findUnique({ where: { userId: u.id } })
    expect(await comments()).toHaveLength(1)
    expect(await profile()).not.toBeNull()
    await t.prisma.user.delete({ where: { id: u.id } })
    expect(await comments()).toHaveLength(0)
    expect(await profile()).toBeNull()
  })

  it('$executeRaw and $executeRawUnsafe invalidate', async () => {
    const cat = await t.base.category.create({ data: { title: 'raw' } })
    const read = () => t.prisma.category.findUnique({ where: { id: cat.id } })
    expect((await read())?.title).toBe('raw')
    await t.prisma.$executeRaw`UPDATE "Category" SET title = 'raw2' WHERE id = ${cat.id}`
    expect((await read())?.title).toBe('raw2')
    await t.prisma.$executeRawUnsafe(`UPDATE "Category" SET title = 'raw3' WHERE id = ${cat.id}`)
    expect((await read())?.title).toBe('raw3')
  })

  it('relation reads (include, relation filter, _count) depend on the related model', async () => {
    const withPosts = () => t.prisma.user.findUnique({ where: { id: b }, include: { posts: true, _count: { select: { posts: true } } } })
    const byPostTitle = () => t.prisma.user.findMany({ where: { posts: { some: { title: 'rel' } } } })
    const before = await withPosts()
    expect(await byPostTitle()).toEqual([])
    await t.prisma.post.create({ data: { title: 'rel', authorId: b } })
    const after = await withPosts()
    expect(after?._count.posts).toBe((before?._count.posts ?? 0) + 1)
    expect((await byPostTitle()).map((u) => u.id)).toEqual([b])
  })
})

describe('fluent API on writes', () => {
  it('returns the related row untouched and still invalidates the written model', async () => {
    const post = await t.base.post.create({ data: { title: 'fluent-w', authorId: a } })
    const read = () => t.prisma.post.findMany({ where: { title: 'fluent-w2' } })
    expect(await read()).toEqual([])
    const author = await t.prisma.post.update({ where: { id: post.id }, data: { title: 'fluent-w2' } }).author()
    const expected = await t.base.user.findUnique({ where: { id: a } })
    expect(author).toEqual(expected)
    expect((await read()).map((p) => p.id)).toEqual([post.id])
  })
})

describe('referential actions on key updates', () => {
  it('changing a referenced key cascades (ON UPDATE CASCADE) and invalidates the referencing model', async () => {
    const u = await t.base.user.create({ data: { email: 'rekey@w.io' } })
    await t.base.post.create({ data: { title: 'rekeyed', authorId: u.id } })
    const newId = u.id + 100_000
    const oldAuthor = () => t.prisma.post.findMany({ where: { authorId: u.id } })
    const newAuthor = () => t.prisma.post.findMany({ where: { authorId: newId } })
    expect(await oldAuthor()).toHaveLength(1)
    expect(await newAuthor()).toHaveLength(0)
    await t.prisma.user.update({ where: { id: u.id }, data: { id: newId } })
    expect(await oldAuthor()).toHaveLength(0)
    expect(await newAuthor()).toHaveLength(1)
  })

  it('a composite key change of Group (mapped table and column) reaches Membership', async () => {
    const u = await t.base.user.create({ data: { email: 'member@w.io' } })
    await t.base.group.create({ data: { tenant: 'acme', slug: 'eng', name: 'Engineering', members: { create: { userId: u.id } } } })
    const members = () => t.prisma.membership.findMany({ where: { tenant: 'acme', slug: 'eng' } })
    expect(await members()).toHaveLength(1)
    await t.prisma.group.update({ where: { tenant_slug: { tenant: 'acme', slug: 'eng' } }, data: { slug: 'engineering' } })
    expect(await members()).toHaveLength(0)
    expect(await t.prisma.membership.count({ where: { slug: 'engineering' } })).toBe(1)
  })
})

describe('raw SQL writes', () => {
  it('invalidate the tables they name (and their cascades), not other models', async () => {
    const cat = await t.base.category.create({ data: { title: 'raw-g' } })
    const categoryRead = () => t.prisma.category.findUnique({ where: { id: cat.id } })
    const tagRead = () => t.prisma.tag.findMany({ where: { name: 'raw-unrelated' } })
    await categoryRead()
    await tagRead()
    await t.prisma.$executeRaw`UPDATE "Category" SET title = 'raw-g2' WHERE id = ${cat.id}`
    expect((await categoryRead())?.title).toBe('raw-g2')
    expect(await cached(tagRead)).toBe(true)
  })

  it('follow @@map table names', async () => {
    await t.base.group.create({ data: { tenant: 'raw', slug: 'g', name: 'before' } })
    const read = () => t.prisma.group.findUnique({ where: { tenant_slug: { tenant: 'raw', slug: 'g' } } })
    expect((await read())?.name).toBe('before')
    await t.prisma.$executeRawUnsafe(`UPDATE "groups" SET display_name = 'after' WHERE tenant = 'raw'`)
    expect((await read())?.name).toBe('after')
  })

  it('invalidate every model when the SQL names no known table', async () => {
    const tagRead = () => t.prisma.tag.findMany({ where: { name: 'raw-all' } })
    await tagRead()
    await t.prisma.$executeRaw`SELECT 1`
    expect(await cached(tagRead)).toBe(false)
  })

  it('can be narrowed by the rawSqlModels option', async () => {
    const seen: string[] = []
    const narrow = testClient(await freshDatabase('writes_raw'), {
      rawSqlModels: (sql) => {
        seen.push(sql)
        return sql.includes('refresh_tags') ? ['Tag'] : undefined
      },
    })
    try {
      const tags = () => narrow.prisma.tag.count()
      const settings = () => narrow.prisma.setting.count()
      await tags()
      await settings()
      await narrow.prisma.$executeRawUnsafe('SELECT 1 AS refresh_tags')
      expect((await countSql(narrow, tags)).sql).toBeGreaterThan(0)
      expect((await countSql(narrow, settings)).sql).toBe(0)
      expect(seen).toContain('SELECT 1 AS refresh_tags')
    } finally {
      await narrow.prisma.$cacheops.invalidateAll()
      await narrow.close()
    }
  })
})

describe('unique keys and raw reads', () => {
  it('changing a unique key drops the reads by the old and the new value only', async () => {
    const u = await t.base.user.create({ data: { email: 'old-key@w.io' } })
    const byOld = () => t.prisma.user.findUnique({ where: { email: 'old-key@w.io' } })
    const byNew = () => t.prisma.user.findUnique({ where: { email: 'new-key@w.io' } })
    const other = () => t.prisma.user.findUnique({ where: { email: 'b@w.io' } })
    expect(await byOld()).not.toBeNull()
    expect(await byNew()).toBeNull()
    await other()
    await t.prisma.user.update({ where: { id: u.id }, data: { email: 'new-key@w.io' } })
    expect(await byOld()).toBeNull()
    expect((await byNew())?.id).toBe(u.id)
    expect(await cached(other)).toBe(true)
  })

  it('$queryRaw is never cached', async () => {
    const q = () => t.prisma.$queryRaw`SELECT count(*)::int AS n FROM "User"`
    await q()
    expect(await cached(q)).toBe(false)
  })
})
