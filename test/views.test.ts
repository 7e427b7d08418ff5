// Prisma views (`view` blocks): their rows change when the tables they select from change,
// which no datamodel says. Reads that reach one are never cached; cachedAs refuses one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { datamodelFromDmmf, viewNamesOf } from '../src/generator/fromDmmf.ts'
import type { CacheopsDatamodel } from '../src/datamodel/types.ts'
import { CacheopsConfigError } from '../src/index.ts'
import { countSql, datamodel, freshDatabase, testClient, type TestClient } from './helpers.ts'

describe('the generator marks views', () => {
  it('reads view names off the schema text, not comments or strings', () => {
    const schema = [
      'model A {', '  id Int @id', '}',
      'view ActiveUsers {', '  id Int @unique', '}',
      '  view   Totals{', '  n Int @unique', '}',
      '// view NotAView {', 'model B {', '  note String @default("view Fake {")', '}',
    ].join('\n')
    expect(viewNamesOf(schema)).toEqual(['ActiveUsers', 'Totals'])
  })

  it('sets isView on those models only', () => {
    const field = { name: 'id', kind: 'scalar' as const, type: 'Int', isList: false, isRequired: true, isId: false, isUnique: true, hasDefaultValue: false }
    const dm = datamodelFromDmmf([{ name: 'A', fields: [field], uniqueIndexes: [] }, { name: 'V', fields: [field], uniqueIndexes: [] }], 'postgresql', [], ['V'])
    expect(dm.models.V?.isView).toBe(true)
    expect(dm.models.A?.isView).toBeUndefined()
  })
})

describe('reads that reach a view', () => {
  // Post stands in for a view here: the database table behaves the same for reads.
  const withView: CacheopsDatamodel = { ...datamodel, models: { ...datamodel.models, Post: { ...datamodel.models.Post, isView: true } } }
  let t: TestClient
  let author: number
  beforeAll(async () => {
    t = testClient(await freshDatabase('views'), { datamodel: withView as typeof datamodel })
    author = (await t.base.user.create({ data: { email: 'v@x.io', posts: { create: { title: 'v1' } } } })).id
  })
  afterAll(async () => {
    await t.prisma.$cacheops.invalidateAll()
    await t.close()
  })

  it('go to the database every time, directly or through an include', async () => {
    const direct = () => t.prisma.post.findMany({ where: { authorId: author } })
    const included = () => t.prisma.user.findUnique({ where: { id: author }, include: { posts: true } })
    const counted = () => t.prisma.user.findMany({ select: { id: true, _count: { select: { posts: true } } } })
    for (const read of [direct, included, counted] as (() => Promise<unknown>)[]) {
      await read()
      expect((await countSql(t, read)).sql).toBeGreaterThan(0)
    }
    // A table the view does not reach is still cached.
    const plain = () => t.prisma.user.findUnique({ where: { id: author } })
    await plain()
    expect((await countSql(t, plain)).sql).toBe(0)
  })

  it('cachedAs refuses a view as a dependency', () => {
    expect(() => t.prisma.$cacheops.cachedAs(['Post'], () => 1, { timeout: 60 })).toThrow(CacheopsConfigError)
  })
})
