// Odd inputs give a correct entry or a clean skip, never a wrong hit or an error from the cache.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { countSql, freshDatabase, testClient, type TestClient } from './helpers.ts'

let t: TestClient
let uid: number

beforeAll(async () => {
  t = testClient(await freshDatabase('bad_input'))
  uid = (await t.base.user.create({ data: { email: 'bad@b.io' } })).id
})
afterAll(async () => {
  await t.prisma.$cacheops.invalidateAll()
  await t.close()
})

describe('bad input', () => {
  it('an in list of 10,000 values: cached, and invalidated (model-wide) by a matching write', async () => {
    const ids = Array.from({ length: 10_000 }, (_, i) => i + 1_000_000)
    const read = () => t.prisma.post.findMany({ where: { id: { in: ids } } })
    expect(await read()).toEqual([])
    expect((await countSql(t, read)).sql).toBe(0)
    await t.prisma.post.create({ data: { id: 1_000_123, title: 'in the list', authorId: uid } })
    expect((await read()).map((p) => p.id)).toEqual([1_000_123])
  })

  it('a deeply nested where tree (as deep as Prisma accepts)', async () => {
    let where: Record<string, unknown> = { title: 'deep' }
    for (let i = 0; i < 30; i++) where = i % 2 ? { AND: [where, { authorId: uid }] } : { OR: [where, { id: -i }] }
    const read = () => t.prisma.post.findMany({ where })
    expect(await read()).toEqual([])
    await t.prisma.post.create({ data: { title: 'deep', authorId: uid } })
    expect((await read()).map((p) => p.title)).toEqual(['deep'])
  })

  it('strings with key separators, unicode and NUL never share an entry or miss an invalidation', async () => {
    const titles = ['a:b', 'a&b=c', '{x}', 'a"b', 'é😀', 'a\\nb', 'a\u0000b'.replace('\u0000', '\\0'), 'a=1&b=2', 'x'.repeat(300)]
    const reads = titles.map((title) => () => t.prisma.post.findMany({ where: { title, authorId: uid } }))
    for (const r of reads) expect(await r()).toEqual([])
    for (const [i, title] of titles.entries()) {
      await t.prisma.post.create({ data: { title, authorId: uid } })
      for (const [j, r] of reads.entries()) expect((await r()).length, `after creating ${JSON.stringify(title)}, read ${j}`).toBe(j <= i ? 1 : 0)
    }
  })

})
