// From an adversarial review: a PrismaClient with a global `omit` (Prisma's client option) under cacheops.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PrismaPg } from '@prisma/adapter-pg'
import { PrismaClient } from '../prisma/generated/client/client.ts'
import { cacheops } from '../src/index.ts'
import { REDIS_URL, datamodel, freshDatabase, newPrefix } from './helpers.ts'

let url: string
let base: PrismaClient
let prisma: ReturnType<typeof make>
const make = (b: PrismaClient) => b.$extends(cacheops({ redis: REDIS_URL, datamodel, prefix: newPrefix(), models: { '*': { ops: 'all', timeout: 300 } } }))

beforeAll(async () => {
  url = await freshDatabase('review_omit')
  base = new PrismaClient({ adapter: new PrismaPg({ connectionString: url }), omit: { user: { email: true }, post: { authorId: true } } })
  prisma = make(base)
})
afterAll(async () => {
  await prisma.$cacheops.invalidateAll()
  await prisma.$cacheops.close()
  await base.$disconnect()
})

describe('global omit', () => {
  it('create and update of a globally omitted keyed field', async () => {
    const byEmail = (e: string) => prisma.user.findUnique({ where: { email: e }, select: { id: true } })
    expect(await byEmail('go-a@x.io')).toBeNull()
    expect(await byEmail('go-b@x.io')).toBeNull()
    const u = await prisma.user.create({ data: { email: 'go-a@x.io' } })
    expect(await byEmail('go-a@x.io')).toEqual({ id: u.id })
    await prisma.user.update({ where: { id: u.id }, data: { email: 'go-b@x.io' } })
    expect(await byEmail('go-a@x.io')).toBeNull()
    expect(await byEmail('go-b@x.io')).toEqual({ id: u.id })
  })

  it('a post moved to another author, authorId globally omitted', async () => {
    const a = await base.user.create({ data: { email: 'go-c@x.io' } })
    const b = await base.user.create({ data: { email: 'go-d@x.io' } })
    const p = await base.post.create({ data: { title: 't', authorId: a.id } })
    const postsOf = (id: number) => prisma.post.findMany({ where: { authorId: id }, select: { id: true } })
    expect(await postsOf(a.id)).toHaveLength(1)
    expect(await postsOf(b.id)).toHaveLength(0)
    await prisma.post.update({ where: { id: p.id }, data: { authorId: b.id } })
    expect(await postsOf(a.id)).toHaveLength(0)
    expect(await postsOf(b.id)).toHaveLength(1)
    await prisma.post.delete({ where: { id: p.id } })
    expect(await postsOf(b.id)).toHaveLength(0)
    await prisma.post.create({ data: { title: 't2', authorId: a.id } })
    expect(await postsOf(a.id)).toHaveLength(1)
  })
})
