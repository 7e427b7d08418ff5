// Identical concurrent misses in one process share one database query (issue 5, herd control).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { countSql, freshDatabase, pauseFirst, testClient, type TestClient } from './helpers.ts'

let t: TestClient
let uid: number

beforeAll(async () => {
  t = testClient(await freshDatabase('singleflight'))
  uid = (await t.base.user.create({ data: { email: 'sf@s.io', posts: { create: [{ title: 'sf-1' }, { title: 'sf-2' }] } } })).id
})
afterAll(async () => {
  await t.prisma.$cacheops.invalidateAll()
  await t.close()
})

describe('in-process single-flight', () => {
  it('runs one query for many identical concurrent misses', async () => {
    await t.prisma.$cacheops.invalidateAll()
    const read = () => t.prisma.post.findMany({ where: { authorId: uid }, orderBy: { id: 'asc' } })
    const { value, sql } = await countSql(t, () => Promise.all(Array.from({ length: 20 }, read)))
    expect(sql).toBe(1)
    expect(new Set(value.map((v) => JSON.stringify(v))).size).toBe(1)
    expect(value[0]).not.toBe(value[1]) // each caller gets its own objects
  })

  it('never hands a waiter a result older than a write it saw finish', async () => {
    const { client, paused, release } = pauseFirst(t, 'user', 'findUnique', 'after')
    const leader = client.user.findUnique({ where: { id: uid } }).then((u) => u)
    await paused // the leader read the database and waits before storing
    await t.prisma.user.update({ where: { id: uid }, data: { name: 'after the write' } })
    const waiter = t.prisma.user.findUnique({ where: { id: uid } }).then((u) => u) // joins the leader
    await new Promise((r) => setTimeout(r, 20))
    release()
    expect((await leader)?.name).not.toBe('after the write') // it read before the write: fine for it
    expect((await waiter)?.name).toBe('after the write')
  })

  it('shares the leader’s error with every waiter', async () => {
    await t.prisma.$cacheops.invalidateAll()
    let calls = 0
    const failing = t.prisma.$extends({
      query: {
        tag: {
          async count({ args, query }) {
            calls++
            await new Promise((r) => setTimeout(r, 30))
            if (calls === 1) throw new Error('database hiccup')
            return query(args)
          },
        },
      },
    })
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => failing.tag.count()))
    expect(results.every((r) => r.status === 'rejected' && String(r.reason).includes('database hiccup'))).toBe(true)
    expect(calls).toBe(1)
  })

  it('is not used inside transactions', async () => {
    await t.prisma.$cacheops.invalidateAll()
    const { sql } = await countSql(t, () =>
      t.prisma.$transaction(async (tx) => Promise.all(Array.from({ length: 3 }, () => tx.post.count({ where: { authorId: uid } })))),
    )
    expect(sql).toBeGreaterThanOrEqual(3)
  })
})
