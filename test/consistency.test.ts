import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { countSql, freshDatabase, pauseFirst, rawRedis, testClient, type TestClient } from './helpers.ts'
import { describeRedis, itRedis } from './stores.ts'

let url: string
let t: TestClient
let a: number
let b: number
const redis = rawRedis()

beforeAll(async () => {
  url = await freshDatabase('consistency')
  t = testClient(url)
  a = (await t.base.user.create({ data: { email: 'a@c.io' } })).id
  b = (await t.base.user.create({ data: { email: 'b@c.io' } })).id
})
afterAll(async () => {
  await t.prisma.$cacheops.invalidateAll()
  await t.close()
  redis.disconnect()
})

describe('no stale sets (cacheops issue 302)', () => {
  it('refuses to store a result read before a write that committed during the read', async () => {
    const post = await t.base.post.create({ data: { title: 'old', authorId: a } })
    // Held inside cacheops: between the database read and the store.
    const { client: gated, paused: readerInDb, release } = pauseFirst(t, 'post', 'findMany', 'after')
    const read = () => gated.post.findMany({ where: { authorId: a } })
    const pending = read().then((rows) => rows) // PrismaPromises are lazy: start it now. Miss → lease → database read of the old row → waits
    await readerInDb
    await t.prisma.post.update({ where: { id: post.id }, data: { title: 'new' } }) // commits + invalidates
    const skippedBefore = t.prisma.$cacheops.stats().skippedStores
    release()
    expect((await pending).map((p) => p.title)).toEqual(['old']) // it read before the write: fine to return
    const next = await countSql(t, read)
    expect(next.sql).toBeGreaterThan(0) // the stale result was not stored
    expect(next.value.map((p) => p.title)).toEqual(['new'])
    expect(t.prisma.$cacheops.stats().skippedStores).toBe(skippedBefore + 1)
  })

  it('stores normally when no write intervenes', async () => {
    const read = () => t.prisma.post.findMany({ where: { authorId: b } })
    await read()
    expect((await countSql(t, read)).sql).toBe(0)
  })
})

describe('eviction safety', () => {
  const read = () => t.prisma.post.findMany({ where: { authorId: a }, orderBy: { id: 'asc' } })

  itRedis('a lost conjunction stamp or model stamp is a miss, never a stale hit', async () => {
    await read()
    expect((await countSql(t, read)).sql).toBe(0)
    for (const key of await redis.keys(`${t.prefix}c:Post:*`)) await redis.del(key)
    expect((await countSql(t, read)).sql).toBeGreaterThan(0)
    expect((await countSql(t, read)).sql).toBe(0)
    await redis.del(`${t.prefix}m:Post`)
    expect((await countSql(t, read)).sql).toBeGreaterThan(0)
    expect((await countSql(t, read)).sql).toBe(0)
    // A lost registry: the next read that registers a scheme starts a new model stamp.
    await redis.del(`${t.prefix}e:Post`)
    await t.prisma.post.count({ where: { title: 'registers-again' } })
    expect((await countSql(t, read)).sql).toBeGreaterThan(0)
  })

  it('a registry rebuilt by another read after an eviction still cannot leave a stale hit', async () => {
    const post = await t.base.post.create({ data: { title: 'rebuilt', authorId: a } })
    await read() // depends on the scheme authorId
    await redis.del(`${t.prefix}e:Post`)
    // Registers only the scheme id: a write now deletes no authorId conjunction.
    await t.prisma.post.findUnique({ where: { id: post.id } })
    await t.prisma.post.update({ where: { id: post.id }, data: { title: 'rebuilt-then-written' } })
    const rows = await read()
    expect(rows.find((p) => p.id === post.id)?.title).toBe('rebuilt-then-written')
  })

  it('a write after the scheme registry was evicted still cannot leave a stale hit', async () => {
    const post = await t.base.post.create({ data: { title: 'evict', authorId: a } })
    await read()
    await redis.del(`${t.prefix}e:Post`) // schemes gone: the write finds nothing to delete
    // Written by another process, which knows no schemes of its own.
    const other = testClient(url, { prefix: t.prefix })
    try {
      await other.prisma.post.update({ where: { id: post.id }, data: { title: 'evicted-then-written' } })
      expect((await read()).find((p) => p.id === post.id)?.title).toBe('evicted-then-written')
      await read()
      await redis.del(`${t.prefix}e:Post`)
      const created = await other.prisma.post.create({ data: { title: 'created-after-eviction', authorId: a } })
      expect((await read()).map((p) => p.id)).toContain(created.id)
    } finally {
      await other.close()
    }
  })

  it('random evictions between random writes never produce a stale read', async () => {
    let seed = 42
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n)
    const ids: number[] = []
    for (let i = 0; i < 6; i++) ids.push((await t.prisma.post.create({ data: { title: `r${i}`, authorId: i % 2 ? a : b } })).id)
    const shapes = [
      (p: typeof t.prisma | typeof t.base) => p.post.findMany({ where: { authorId: a }, orderBy: { id: 'asc' } }),
      (p: typeof t.prisma | typeof t.base) => p.post.findMany({ where: { OR: [{ published: true }, { title: 'r1' }] }, orderBy: { id: 'asc' } }),
      (p: typeof t.prisma | typeof t.base) => p.post.count({ where: { authorId: { in: [a, b] }, published: false } }),
      (p: typeof t.prisma | typeof t.base) => p.user.findMany({ include: { posts: { orderBy: { id: 'asc' } } }, orderBy: { id: 'asc' } }),
      (p: typeof t.prisma | typeof t.base) => p.post.findUnique({ where: { id: ids[0] } }),
    ]
    for (let step = 0; step < 40; step++) {
      for (const shape of shapes) await shape(t.prisma)
      const keys = await redis.keys(`${t.prefix}*`)
      for (let k = rand(3); k > 0 && keys.length > 0; k--) await redis.del(keys[rand(keys.length)]!)
      const id = ids[rand(ids.length)]!
      const kind = rand(3)
      if (kind === 0) await t.prisma.post.update({ where: { id }, data: { authorId: rand(2) ? a : b } })
      else if (kind === 1) await t.prisma.post.update({ where: { id }, data: { published: rand(2) === 0 } })
      else await t.prisma.post.update({ where: { id }, data: { title: `r${rand(8)}x${step}` } })
      for (const shape of shapes) expect(await shape(t.prisma)).toEqual(await shape(t.base))
    }
  })
})

describeRedis("a mass write's guard or transform lost while it runs (evicted, or expired: a write longer than its crash timeout)", () => {
  it('deleteMany: results stored meanwhile go with the model at its end', async () => {
    const x = await t.base.user.create({ data: { email: 'ev-w-x@c.io' } })
    await t.base.post.create({ data: { title: 'ev-w-victim', authorId: x.id } })
    const phantom = await t.base.post.create({ data: { title: 'ev-w-phantom', authorId: b } })
    const byTitle = () => t.prisma.post.findMany({ where: { title: 'ev-w-phantom' }, select: { id: true } })
    await t.prisma.post.findMany({ where: { authorId: x.id } })
    await t.prisma.post.findMany({ where: { title: 'ev-w-other' } }) // the title scheme, before the write
    const writer = pauseFirst(t, 'post', 'deleteMany', 'before')
    const del = writer.client.post.deleteMany({ where: { authorId: x.id } }).then((r) => r)
    await writer.paused
    await t.prisma.post.update({ where: { id: phantom.id }, data: { authorId: x.id } }) // enters the where
    expect(await redis.del(`${t.prefix}w:Post`)).toBe(1) // the guard is lost
    expect(await byTitle()).toEqual([{ id: phantom.id }]) // stored: nothing refuses it now
    writer.release()
    expect((await del).count).toBe(2)
    expect(await byTitle()).toEqual([])
  })

  it("updateMany: writers that did not apply its data meanwhile are made up for at its end", async () => {
    const other = testClient(url, { prefix: t.prefix }) // another process
    try {
      const ua = await t.base.user.create({ data: { email: 'ev-u-a@c.io' } })
      await t.base.post.create({ data: { title: 'ev-u-r', authorId: ua.id } })
      const phantom = await t.base.post.create({ data: { title: 'ev-u-phantom', authorId: b } })
      const publishedPhantom = () => t.prisma.post.findMany({ where: { title: 'ev-u-phantom', published: true }, select: { id: true } })
      expect(await publishedPhantom()).toEqual([])
      await t.prisma.post.findMany({ where: { authorId: ua.id } })
      // The other process learns the schemes and their registry version: its writes need no script.
      await other.prisma.post.update({ where: { id: phantom.id }, data: { authorId: ua.id } })
      await other.prisma.post.update({ where: { id: phantom.id }, data: { authorId: b } })
      expect(await publishedPhantom()).toEqual([])
      const writer = pauseFirst(t, 'post', 'updateMany', 'before')
      const update = writer.client.post.updateMany({ where: { authorId: ua.id }, data: { published: true } }).then((r) => r)
      await writer.paused
      expect(await redis.del(`${t.prefix}u:Post`)).toBe(1) // the transform is lost
      await other.prisma.post.update({ where: { id: phantom.id }, data: { authorId: ua.id } }) // enters the where, no transform applied
      writer.release()
      expect((await update).count).toBe(2)
      expect(await publishedPhantom()).toEqual([{ id: phantom.id }])
    } finally {
      await other.close()
    }
  })
})

describeRedis('bounded Redis footprint', () => {
  it('every entry and conjunction stamp expires; model stamps are one per model', async () => {
    for (let i = 0; i < 20; i++) await t.prisma.post.findMany({ where: { title: `bounded-${i}`, published: i % 2 === 0 } })
    const keys = await redis.keys(`${t.prefix}*`)
    const perModel = (k: string) => k.startsWith(`${t.prefix}e:`) || k.startsWith(`${t.prefix}m:`)
    const volatile = keys.filter((k) => !perModel(k))
    expect(volatile.length).toBeGreaterThan(20)
    for (const k of volatile) expect(await redis.ttl(k)).toBeGreaterThan(0)
    expect(keys.filter((k) => k.startsWith(`${t.prefix}m:`)).length).toBeLessThanOrEqual(9)
    const models = keys.filter((k) => k.startsWith(`${t.prefix}e:`))
    expect(models.length).toBeLessThanOrEqual(9)
    for (const m of models) expect(await redis.hlen(m)).toBeLessThan(50) // "_" + one field per scheme
  })
})

describe('Redis failures', () => {
  it('an unreachable Redis never fails a database write, and the error is reported', async () => {
    const errors: Error[] = []
    const down = testClient(url, { redis: 'redis://127.0.0.1:1/0', onError: (e) => errors.push(e) })
    try {
      const post = await down.prisma.post.create({ data: { title: 'redis down', authorId: a } })
      expect(post.title).toBe('redis down')
      const updated = await down.prisma.post.update({ where: { id: post.id }, data: { title: 'still down' } })
      expect(updated.title).toBe('still down')
      expect(errors.some((e) => e.name === 'CacheopsRedisError' && (e as { operation?: string }).operation === 'invalidate')).toBe(true)
      // Reads fall back to the database: Post's without asking Redis (its invalidation is
      // pending), other models' after the failed read is reported.
      expect((await down.prisma.post.findUnique({ where: { id: post.id } }))?.title).toBe('still down')
      expect((await down.prisma.user.findUnique({ where: { id: a } }))?.id).toBe(a)
      expect(errors.some((e) => (e as { operation?: string }).operation === 'read')).toBe(true)
      expect(await t.base.post.findUnique({ where: { id: post.id } })).toMatchObject({ title: 'still down' })
    } finally {
      await down.close()
    }
  })
})

describe('concurrent writers to one row', () => {
  it('invalidates with the true pre-image when another writer changed the row after our pre-read', async () => {
    const c = (await t.base.user.create({ data: { email: 'c@c.io' } })).id
    const post = await t.prisma.post.create({ data: { title: 'contended', authorId: a } })
    // Held inside cacheops: after W1's pre-read (authorId = a), before its UPDATE.
    const { client: gated, paused: w1Paused, release } = pauseFirst(t, 'post', 'update', 'before')
    const w1 = gated.post.update({ where: { id: post.id }, data: { authorId: b } }).then((p) => p) // A → B
    await w1Paused
    await t.prisma.post.update({ where: { id: post.id }, data: { authorId: c } }) // W2: A → C, commits
    const byC = () => t.prisma.post.findMany({ where: { authorId: c } })
    expect((await byC()).map((p) => p.id)).toEqual([post.id]) // a reader caches the intermediate C
    expect((await countSql(t, byC)).sql).toBe(0)
    release()
    expect((await w1).authorId).toBe(b)
    // W1's true pre-image was C, so the entry above must be gone.
    expect(await byC()).toEqual([])
    expect((await t.prisma.post.findMany({ where: { authorId: b, title: 'contended' } })).map((p) => p.id)).toEqual([post.id])
  })

  it('upsert racing a concurrent create ends in the update branch with the true pre-image', async () => {
    const { client: gated, paused, release } = pauseFirst(t, 'setting', 'upsert', 'before')
    const u = gated.setting.upsert({ where: { key: 'race' }, create: { key: 'race', value: 'mine' }, update: { value: 'updated' } }).then((s) => s)
    await paused // our pre-read saw no row
    await t.prisma.setting.create({ data: { key: 'race', value: 'theirs' } })
    const theirs = () => t.prisma.setting.findMany({ where: { value: 'theirs' } })
    expect(await theirs()).toHaveLength(1) // cached
    release()
    expect((await u).value).toBe('updated')
    expect(await theirs()).toEqual([])
  })
})

describe('writes that read no pre-image (nothing cached)', () => {
  it('skip the pre-read entirely', async () => {
    const s = await t.base.setting.create({ data: { key: 'lonely', value: 'v' } })
    await t.prisma.$cacheops.invalidateModel('Setting')
    const w = await countSql(t, () => t.prisma.setting.update({ where: { id: s.id }, data: { value: 'w' } }))
    expect(w.sql).toBe(1)
  })

  it('go model-wide when a read leased a new scheme during the write', async () => {
    const s = await t.base.setting.create({ data: { key: 'during', value: 'old' } })
    await t.prisma.$cacheops.invalidateModel('Setting')
    const { client, paused, release } = pauseFirst(t, 'setting', 'update', 'before')
    const write = client.setting.update({ where: { id: s.id }, data: { value: 'new' } }).then((x) => x)
    await paused // begin_write saw no schemes: no pre-image was read
    const byOld = () => t.prisma.setting.findMany({ where: { value: 'old' } })
    expect(await byOld()).toHaveLength(1) // cached during the write, under a scheme the writer never saw
    release()
    await write
    expect(await byOld()).toEqual([])
  })
})

describe('deleteMany', () => {
  it('invalidates the deleted rows granularly', async () => {
    const x = await t.base.user.create({ data: { email: 'dm-x@c.io' } })
    const y = await t.base.user.create({ data: { email: 'dm-y@c.io' } })
    await t.base.post.createMany({ data: [{ title: 'dm1', authorId: x.id }, { title: 'dm2', authorId: y.id }] })
    const ofX = () => t.prisma.post.findMany({ where: { authorId: x.id } })
    const ofY = () => t.prisma.post.findMany({ where: { authorId: y.id } })
    expect(await ofX()).toHaveLength(1)
    expect(await ofY()).toHaveLength(1)
    await t.prisma.post.deleteMany({ where: { authorId: x.id } })
    expect(await ofX()).toEqual([])
    expect((await countSql(t, ofY)).sql).toBe(0) // never matched a deleted row
  })

  it('refuses to cache anything read while it runs (a row entering its where is deleted too)', async () => {
    const x = await t.base.user.create({ data: { email: 'dm-guard@c.io' } })
    await t.base.post.create({ data: { title: 'dm-victim', authorId: x.id } })
    const phantom = await t.base.post.create({ data: { title: 'dm-phantom', authorId: a } })
    const byTitle = () => t.prisma.post.findMany({ where: { title: 'dm-phantom' } })
    await t.prisma.post.findMany({ where: { authorId: x.id } }) // a scheme to read pre-images for
    const { client, paused, release } = pauseFirst(t, 'post', 'deleteMany', 'before')
    const del = client.post.deleteMany({ where: { authorId: x.id } }).then((r) => r)
    await paused // pre-images read: only dm-victim
    await t.prisma.post.update({ where: { id: phantom.id }, data: { authorId: x.id } }) // enters the where
    expect(await byTitle()).toHaveLength(1) // read during the mass write: must not be stored
    release()
    expect((await del).count).toBe(2)
    expect(await byTitle()).toEqual([])
    // And once it is over, results are cached again.
    await byTitle()
    expect((await countSql(t, byTitle)).sql).toBe(0)
  })

  it('refuses a result read during it and stored after it ended', async () => {
    // The read sees a row that entered the where clause after the pre-read; the mass write
    // then deletes it (no pre-image: nobody invalidates it) and ends before the read's
    // store arrives. The guard is down by then: the store must still be refused.
    const x = await t.base.user.create({ data: { email: 'dm-late@c.io' } })
    await t.base.post.create({ data: { title: 'dm-late-victim', authorId: x.id } })
    const phantom = await t.base.post.create({ data: { title: 'dm-late-phantom', authorId: a } })
    const byTitle = () => t.prisma.post.findMany({ where: { title: 'dm-late-phantom' } })
    await t.prisma.post.findMany({ where: { authorId: x.id } }) // a scheme to read pre-images for
    const writer = pauseFirst(t, 'post', 'deleteMany', 'before')
    const del = writer.client.post.deleteMany({ where: { authorId: x.id } }).then((r) => r)
    await writer.paused // pre-images read: only dm-late-victim
    await t.prisma.post.update({ where: { id: phantom.id }, data: { authorId: x.id } }) // enters the where
    const reader = pauseFirst(t, 'post', 'findMany', 'after')
    const read = reader.client.post.findMany({ where: { title: 'dm-late-phantom' } }).then((r) => r)
    await reader.paused // database read done: it saw the phantom
    writer.release()
    expect((await del).count).toBe(2) // the phantom is gone, the guard down
    reader.release()
    expect(await read).toHaveLength(1) // read before the delete: fine to return
    expect(await byTitle()).toEqual([])
  })

  itRedis('refuses it too when the registry that counted the end was evicted before the store', async () => {
    const x = await t.base.user.create({ data: { email: 'dm-evicted@c.io' } })
    await t.base.post.create({ data: { title: 'dm-evicted-victim', authorId: x.id } })
    const phantom = await t.base.post.create({ data: { title: 'dm-evicted-phantom', authorId: a } })
    const byTitle = () => t.prisma.post.findMany({ where: { title: 'dm-evicted-phantom' }, select: { id: true } })
    // A registry made afresh (no mass write counted in it yet) with both schemes.
    await t.prisma.$cacheops.invalidateModel('Post')
    await t.prisma.post.findMany({ where: { authorId: x.id } })
    await t.prisma.post.findMany({ where: { title: 'dm-evicted-other' } })
    expect(await redis.hget(`${t.prefix}e:Post`, 'ended')).toBeNull()
    const writer = pauseFirst(t, 'post', 'deleteMany', 'before')
    const del = writer.client.post.deleteMany({ where: { authorId: x.id } }).then((r) => r)
    await writer.paused
    await t.prisma.post.update({ where: { id: phantom.id }, data: { authorId: x.id } }) // enters the where
    const reader = pauseFirst(t, 'post', 'findMany', 'after')
    const read = reader.client.post.findMany({ where: { title: 'dm-evicted-phantom' }, select: { id: true } }).then((r) => r)
    await reader.paused // leased with no end counted, saw the phantom
    writer.release()
    expect((await del).count).toBe(2)
    expect(await redis.hget(`${t.prefix}e:Post`, 'ended')).toBe('1')
    await redis.del(`${t.prefix}e:Post`) // evicted alone: the model stamp stays, the count is gone
    reader.release()
    expect(await read).toEqual([{ id: phantom.id }])
    expect(await byTitle()).toEqual([])
  })
})
