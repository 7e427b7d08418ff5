import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { countSql, freshDatabase, testClient, type TestClient } from './helpers.ts'

let t: TestClient
let observer: TestClient // another client on the same cache: what other processes see
let a: number

beforeAll(async () => {
  const url = await freshDatabase('transactions')
  t = testClient(url)
  observer = testClient(url, { prefix: t.prefix })
  a = (await t.base.user.create({ data: { email: 'a@tx.io' } })).id
  await t.base.post.create({ data: { title: 'p0', authorId: a } })
})
beforeEach(async () => {
  await t.prisma.$cacheops.invalidateAll()
})
afterAll(async () => {
  await t.prisma.$cacheops.invalidateAll()
  await observer.close()
  await t.close()
})

const titles = (c: TestClient) => () => c.prisma.post.findMany({ where: { authorId: a }, orderBy: { id: 'asc' } }).then((ps) => ps.map((p) => p.title))

describe('batch $transaction([...])', () => {
  it('sends every read to the database, even when cached', async () => {
    await titles(t)()
    await t.prisma.post.count()
    const r = await countSql(t, () => t.prisma.$transaction([t.prisma.post.findMany({ where: { authorId: a }, orderBy: { id: 'asc' } }), t.prisma.post.count()]))
    expect(r.sql).toBeGreaterThanOrEqual(2)
    expect(r.value[0].map((p) => p.title)).toEqual(await titles(t)())
  })

  it('invalidates its writes after it resolves', async () => {
    expect(await titles(t)()).not.toContain('batch')
    await t.prisma.$transaction([t.prisma.post.create({ data: { title: 'batch', authorId: a } }), t.prisma.post.count()])
    expect(await titles(t)()).toContain('batch')
  })
})

describe('interactive $transaction(async tx => ...)', () => {
  it('reads from the cache until the first write, then from the database; invalidates now and after commit', async () => {
    const before = await titles(t)()
    let seenInside: string[] = []
    await t.prisma.$transaction(async (tx) => {
      const hit = await countSql(t, () => tx.post.findMany({ where: { authorId: a }, orderBy: { id: 'asc' } }))
      expect(hit.sql).toBe(0)
      await tx.post.create({ data: { title: 'in tx', authorId: a } })
      const after = await countSql(t, () => tx.post.findMany({ where: { authorId: a }, orderBy: { id: 'asc' } }))
      expect(after.sql).toBeGreaterThan(0)
      seenInside = after.value.map((p) => p.title)
      // Invalidated at once; another client refills from the committed state...
      const during = await countSql(observer, titles(observer))
      expect(during).toEqual({ value: before, sql: 1 })
      expect(await countSql(observer, titles(observer))).toEqual({ value: before, sql: 0 })
    })
    // ...and the invalidation that runs again after commit removes that entry.
    expect(seenInside).toContain('in tx')
    const afterCommit = await countSql(observer, titles(observer))
    expect(afterCommit.sql).toBeGreaterThan(0)
    expect(afterCommit.value).toContain('in tx')
  })

  it('does not fill the cache from inside a transaction', async () => {
    await t.prisma.$transaction(async (tx) => {
      await tx.post.findMany({ where: { authorId: a, published: true } })
    })
    expect((await countSql(t, () => t.prisma.post.findMany({ where: { authorId: a, published: true } }))).sql).toBeGreaterThan(0)
  })

  it('drops the queued invalidations of a rolled-back transaction', async () => {
    const before = await titles(t)()
    await expect(
      t.prisma.$transaction(async (tx) => {
        await tx.post.create({ data: { title: 'rolled back', authorId: a } })
        await titles(observer)() // refilled from the committed state after the immediate invalidation
        throw new Error('abort')
      }),
    ).rejects.toThrow('abort')
    // Nothing committed, nothing queued ran: the refilled entry is still served.
    expect(await countSql(observer, titles(observer))).toEqual({ value: before, sql: 0 })
  })

  it('update inside a transaction invalidates after commit', async () => {
    const p = await t.base.post.findFirstOrThrow({ where: { title: 'p0' } })
    const one = () => t.prisma.post.findUnique({ where: { id: p.id } })
    await one()
    await t.prisma.$transaction(async (tx) => {
      await tx.post.update({ where: { id: p.id }, data: { views: 7 } })
    })
    expect((await one())?.views).toBe(7)
  })
})

describe('the transaction client', () => {
  it('keeps .cache(), .nocache() and $cacheops', async () => {
    await t.prisma.$transaction(async (tx) => {
      expect(typeof tx.post.cache).toBe('function')
      expect(typeof tx.post.nocache).toBe('function')
      expect(typeof tx.$cacheops.invalidateModel).toBe('function')
      const n = await tx.post.cache({ timeout: 5 }).count()
      expect(n).toBeGreaterThan(0)
    })
  })

  it('a nested transaction that rolls back drops only its own invalidations', async () => {
    const p = await t.base.post.findFirstOrThrow({ where: { title: 'p0' } })
    const read = titles(t)
    await read()
    const other = () => t.prisma.post.findMany({ where: { title: 'nested outer' } })
    expect(await other()).toEqual([])
    await t.prisma.$transaction(async (tx) => {
      await tx.post.create({ data: { title: 'nested outer', authorId: a } })
      await tx
        .$transaction(async (inner) => {
          await inner.post.update({ where: { id: p.id }, data: { title: 'nested inner' } })
          throw new Error('inner abort')
        })
        .catch(() => undefined)
    })
    expect((await other()).map((x) => x.title)).toEqual(['nested outer'])
    expect((await t.base.post.findUnique({ where: { id: p.id } }))?.title).toBe('p0')
    expect((await read())).toContain('p0')
  })
})

describe('a transaction client used from work started outside its callback', () => {
  it('its writes still belong to the transaction: invalidated after the commit, not before', async () => {
    const post = await t.base.post.create({ data: { title: 'queued old', authorId: a } })
    const byTitle = () => t.prisma.post.findMany({ where: { title: 'queued old' } })
    expect(await byTitle()).toHaveLength(1)
    // A worker set up before the transaction: its callbacks run in the outer async context.
    const jobs: (() => Promise<void>)[] = []
    const worker = setInterval(() => void jobs.shift()?.(), 2)
    try {
      await t.prisma.$transaction(async (tx) => {
        await new Promise<void>((resolve, reject) =>
          jobs.push(() => tx.post.update({ where: { id: post.id }, data: { title: 'queued new' } }).then(() => resolve(), reject)),
        )
        // Before the commit another request reads the old title: the database still has it.
        expect(await byTitle()).toHaveLength(1)
      })
    } finally {
      clearInterval(worker)
    }
    expect(await t.base.post.findMany({ where: { title: 'queued old' } })).toEqual([])
    expect(await byTitle()).toEqual([])
  })
})

describe('granular writes inside an interactive transaction', () => {
  it('reads the pre-image inside the transaction: an unrelated entry of the model survives', async () => {
    const p = await t.base.post.create({ data: { title: 'tx-granular', authorId: a } })
    const mine = () => t.prisma.post.findUnique({ where: { id: p.id } })
    const unrelated = () => t.prisma.post.findMany({ where: { title: 'nothing like it' } })
    await mine()
    await unrelated()
    await t.prisma.$transaction(async (tx) => {
      await tx.post.update({ where: { id: p.id }, data: { title: 'tx-granular-2' } })
      await tx.post.update({ where: { id: p.id }, data: { title: 'tx-granular-3' } })
    })
    expect((await countSql(t, unrelated)).sql).toBe(0)
    expect((await mine())?.title).toBe('tx-granular-3')
    expect(await t.prisma.post.findMany({ where: { title: 'tx-granular' } })).toEqual([])
  })
})

describe('errors inside an interactive transaction', () => {
  it('a unique violation of a cached model surfaces as P2002, like without the cache', async () => {
    const p1 = await t.base.post.create({ data: { title: 'uniq-1', authorId: a } })
    await t.base.post.create({ data: { title: 'uniq-2', authorId: a } })
    await t.prisma.post.findMany({ where: { authorId: a } }) // a cached scheme: the update runs compare-and-set
    const err = await t.prisma
      .$transaction(async (tx) => {
        await tx.post.update({ where: { id: p1.id }, data: { title: 'uniq-2' } })
      })
      .catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'P2002' })
  })
})

describe('a client extended after cacheops', () => {
  it('keeps $transaction working (interactive and batch) and invalidating', async () => {
    const outer = t.prisma.$extends({ query: { $allOperations: ({ args, query }) => query(args) } })
    const read = () => outer.post.findMany({ where: { title: 'outer-tx' } })
    expect(await read()).toEqual([])
    await outer.$transaction(async (tx) => {
      await tx.post.create({ data: { title: 'outer-tx', authorId: a } })
    })
    expect(await read()).toHaveLength(1)
    await outer.$transaction([outer.post.create({ data: { title: 'outer-tx', authorId: a } })]).catch(() => undefined) // unique (authorId, title)
    await outer.$transaction([outer.post.updateMany({ where: { title: 'outer-tx' }, data: { views: 5 } })])
    expect((await read())[0]?.views).toBe(5)
  })
})
