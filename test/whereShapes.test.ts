// From an adversarial review: where shapes whose DNF may be narrower than Prisma's semantics.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { freshDatabase, testClient, type TestClient } from './helpers.ts'

let t: TestClient
let u: number

beforeAll(async () => {
  t = testClient(await freshDatabase('review_where'))
  u = (await t.base.user.create({ data: { email: 'w@x.io' } })).id
})
beforeEach(async () => {
  await t.prisma.$cacheops.invalidateAll()
})
afterAll(async () => {
  await t.prisma.$cacheops.invalidateAll()
  await t.close()
})

const wheres: Record<string, object> = {
  'OR: []': { OR: [] },
  'NOT: { OR: [] }': { NOT: { OR: [] } },
  'NOT: []': { NOT: [] },
  'AND: []': { AND: [] },
  'id notIn []': { id: { notIn: [] } },
  'NOT id in []': { NOT: { id: { in: [] } } },
  'title in [] OR views 0': { OR: [{ title: { in: [] } }, { views: 0 }] },
  'published not false': { published: { not: false } },
  'categoryId not 5': { categoryId: { not: 5 } },
  'categoryId equals null': { categoryId: { equals: null } },
  'title gte': { title: { gte: 'w' } },
  'views in [0] AND NOT OR []': { AND: [{ views: { in: [0] } }, { NOT: { OR: [] } }] },
  'isNot / is relation': { category: { is: null } },
  'author is': { author: { is: { email: 'w@x.io' } } },
  'OR with undefined': { OR: [{ title: undefined }] },
  'AND object': { AND: { views: 0 } },
  'views equals 0 not in': { views: { equals: 0, notIn: [1] } },
}

describe('where shapes', () => {
  for (const [name, where] of Object.entries(wheres)) {
    it(`${name}: count, findMany after create/update/delete`, async () => {
      const reads = [
        (p: typeof t.prisma | typeof t.base) => p.post.count({ where: where as never }),
        (p: typeof t.prisma | typeof t.base) => p.post.findMany({ where: where as never, orderBy: { id: 'asc' }, select: { id: true } }),
      ]
      const check = async () => {
        for (const r of reads) expect(JSON.stringify(await r(t.prisma))).toBe(JSON.stringify(await r(t.base)))
      }
      for (const r of reads) await r(t.prisma)
      const p = await t.prisma.post.create({ data: { title: `w-${name}`, authorId: u } })
      await check()
      for (const r of reads) await r(t.prisma)
      await t.prisma.post.update({ where: { id: p.id }, data: { views: 1, published: true, categoryId: null } })
      await check()
      for (const r of reads) await r(t.prisma)
      await t.prisma.post.delete({ where: { id: p.id } })
      await check()
    })
  }
})
