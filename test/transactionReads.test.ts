// From an adversarial review: transactions.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { freshDatabase, testClient, type TestClient } from './helpers.ts'

let t: TestClient
let u: number

beforeAll(async () => {
  t = testClient(await freshDatabase('review_tx'))
  u = (await t.base.user.create({ data: { email: 'tx@x.io' } })).id
})
beforeEach(async () => {
  await t.prisma.$cacheops.invalidateAll()
})
afterAll(async () => {
  await t.prisma.$cacheops.invalidateAll()
  await t.close()
})

const titles = (p: typeof t.prisma | typeof t.base) => p.post.findMany({ where: { authorId: u }, orderBy: { id: 'asc' }, select: { title: true } })

describe('interactive transaction', () => {
  it('control: through the cacheops client itself, a read outside the transaction before its commit', async () => {
    const post = await t.base.post.create({ data: { title: 'c-old', authorId: u } })
    await titles(t.prisma)
    await t.prisma.$transaction(async (tx) => {
      await tx.post.update({ where: { id: post.id }, data: { title: 'c-new' } })
      await titles(t.prisma) // another request meanwhile: reads the committed (old) rows, caches them
    })
    expect(await titles(t.prisma)).toEqual(await titles(t.base))
  })

  it('through a client extended after cacheops (any $extends on top)', async () => {
    const ext = t.prisma.$extends({ name: 'user-extension' })
    const post = await t.base.post.create({ data: { title: 'e-old', authorId: u } })
    await titles(t.prisma)
    await ext.$transaction(async (tx) => {
      await tx.post.update({ where: { id: post.id }, data: { title: 'e-new' } })
      await titles(t.prisma) // another request meanwhile: reads the committed (old) rows, caches them
    })
    expect(await titles(t.prisma)).toEqual(await titles(t.base))
  })

  it('through an extended client: rollback', async () => {
    const ext = t.prisma.$extends({ name: 'user-extension' })
    const post = await t.base.post.create({ data: { title: 'r-old', authorId: u } })
    await titles(t.prisma)
    await ext
      .$transaction(async (tx) => {
        await tx.post.update({ where: { id: post.id }, data: { title: 'r-new' } })
        await tx.post.findMany({ where: { authorId: u }, orderBy: { id: 'asc' }, select: { title: true } }) // uncommitted read in the tx
        throw new Error('rollback')
      })
      .catch(() => {})
    expect(await titles(t.prisma)).toEqual(await titles(t.base))
  })
})
