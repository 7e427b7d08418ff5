import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CacheopsEvent } from '../src/index.ts'
import { freshDatabase, pauseFirst, testClient, type TestClient } from './helpers.ts'

let t: TestClient
const seen: CacheopsEvent[] = []
let uid: number

beforeAll(async () => {
  t = testClient(await freshDatabase('events'), { onEvent: (e) => seen.push(e) })
  uid = (await t.base.user.create({ data: { email: 'ev@e.io' } })).id
})
afterAll(async () => {
  await t.prisma.$cacheops.invalidateAll()
  await t.close()
})

describe('events and stats', () => {
  it('reports misses, stores, hits and invalidations with their model, key and cause', async () => {
    seen.length = 0
    await t.prisma.user.findUnique({ where: { id: uid } })
    await t.prisma.user.findUnique({ where: { id: uid } })
    await t.prisma.user.update({ where: { id: uid }, data: { name: 'x' } })
    const types = seen.map((e) => e.type)
    expect(types).toEqual(['miss', 'store', 'hit', 'invalidate'])
    const [miss, store, hit, inv] = seen as [Extract<CacheopsEvent, { type: 'miss' }>, Extract<CacheopsEvent, { type: 'store' }>, Extract<CacheopsEvent, { type: 'hit' }>, Extract<CacheopsEvent, { type: 'invalidate' }>]
    expect(miss).toMatchObject({ model: 'User', operation: 'findUnique' })
    expect(hit.key).toBe(miss.key)
    expect(store.key).toBe(miss.key)
    expect(hit.durationMs).toBeGreaterThanOrEqual(0)
    expect(inv).toMatchObject({ model: 'User', cause: 'User.update', modelWide: [] })
    expect(inv.rows).toBe(1) // no cached read keys on name: the row as the update left it
    // Once one does, the row before the update is an image too.
    await t.prisma.user.findMany({ where: { name: 'y' } })
    seen.length = 0
    await t.prisma.user.update({ where: { id: uid }, data: { name: 'y' } })
    expect(seen.find((e) => e.type === 'invalidate')).toMatchObject({ model: 'User', rows: 2 })
  })

  it('$cacheops.on listens to one kind and can stop; skip reports a lost race', async () => {
    const skips: unknown[] = []
    const stop = t.prisma.$cacheops.on('skip', (e) => skips.push(e))
    const { client, paused, release } = pauseFirst(t, 'user', 'findMany', 'after')
    const read = client.user.findMany({ where: { id: uid } }).then((r) => r)
    await paused
    await t.prisma.user.update({ where: { id: uid }, data: { name: 'raced' } })
    release()
    await read
    await new Promise((r) => setTimeout(r, 50)) // the store is sent in the background
    expect(skips).toEqual([expect.objectContaining({ type: 'skip', model: 'User', reason: 'invalidated' })])
    stop()
    await t.prisma.$cacheops.invalidateTags('nothing')
    expect(skips).toHaveLength(1)
  })

  it('stats() counts totals and per model', async () => {
    await t.prisma.post.count()
    await t.prisma.post.count()
    const stats = t.prisma.$cacheops.stats()
    expect(stats.byModel.Post).toMatchObject({ hits: 1, misses: 1, stores: 1 })
    expect(stats.byModel.User!.skippedStores).toBe(1)
    expect(stats.hits).toBeGreaterThanOrEqual(2)
    expect(stats.invalidations).toBeGreaterThanOrEqual(2)
  })
})

describe('noInvalidation', () => {
  it('runs writes without invalidating, nested and inside transactions, and only inside', async () => {
    const read = () => t.prisma.user.findUnique({ where: { id: uid } })
    const before = await read()
    await t.prisma.$cacheops.noInvalidation(async () => {
      await t.prisma.user.update({ where: { id: uid }, data: { name: 'silent-1' } })
      await t.prisma.$cacheops.noInvalidation(() => t.prisma.user.update({ where: { id: uid }, data: { name: 'silent-2' } }))
      await t.prisma.$transaction(async (tx) => {
        await tx.user.update({ where: { id: uid }, data: { name: 'silent-3' } })
        // After a write, a transaction reads the database even when invalidation is off.
        expect((await tx.user.findUnique({ where: { id: uid } }))?.name).toBe('silent-3')
      })
    })
    expect((await read())?.name).toBe(before?.name) // still the cached value: nothing was invalidated
    await t.prisma.user.update({ where: { id: uid }, data: { name: 'loud' } })
    expect((await read())?.name).toBe('loud')
  })
})
